"""Every option and argument of every `grpolab` subcommand explains itself in `--help`."""

from __future__ import annotations

import argparse

import pytest

from grpolab.cli import build_parser
from grpolab.commands.runs import STATUSES
from service.db.models import RunStatus


def _undocumented(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _undocumented(sub, f"{path} {name}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)) and not action.help:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_subcommand_has_a_help_text() -> None:
    assert _undocumented(build_parser(), "grpolab") == []


def test_runs_status_help_lists_the_states_the_api_knows(capsys) -> None:
    assert set(STATUSES) == {s.value for s in RunStatus}
    parser = build_parser("runs")
    with pytest.raises(SystemExit):
        parser.parse_args(["runs", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--status STATUS only runs in this state: queued, running, succeeded, failed, cancelled" in out
