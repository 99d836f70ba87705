"""The list commands' tables (grpolab runs, token list, webhook list) come from one printer, commands/_table.py:
titles stand over their values and a name cannot smuggle terminal escapes into any of them."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest

from grpolab.commands import runs, token, webhook
from grpolab.commands._table import print_table

EVIL = "x\r\x1b[2J\u202e"
SHOWN = "x\\r\\x1b[2J\\u202e"  # EVIL as printed: each escape visible, none acted on


def printed(capsys: pytest.CaptureFixture[str], columns, rows) -> list[str]:  # type: ignore[no-untyped-def]
    print_table(columns, rows)
    return capsys.readouterr().out.splitlines()


def test_runs_titles_stand_over_their_values(capsys: pytest.CaptureFixture[str]) -> None:
    run = {"id": "r1", "status": "running", "step": 12, "total_steps": 500, "last_reward": 0.25, "name": EVIL}
    header, row = printed(
        capsys, runs.COLUMNS, [runs.cells({**run, "executor": "ray", "nodes": 2, "ranks": 8})]
    )
    assert row == runs.format_row({**run, "executor": "ray", "nodes": 2, "ranks": 8})
    assert header.index("STEP") + len("STEP") == row.index("12/500") + len("12/500")  # numbers right-aligned
    assert header.index("REWARD") + len("REWARD") == row.index("0.250") + len("0.250")
    assert (
        header.index("EXECUTOR") == row.index("ray 2n/8r") and header.index("OWNER") == row.index(" - ") + 1
    )
    assert row.endswith(f" {SHOWN}") and header.endswith(" NAME")


def test_token_and_webhook_rows_neutralise_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4)
    t = SimpleNamespace(name="ci" + EVIL, revoked=True, created_at=when)
    header, row = printed(capsys, token.COLUMNS, [token._row(t, "alice" + EVIL, None)])  # type: ignore[arg-type]
    assert header == f"{'TOKEN':<24} {'USER':<20} {'ROLE':<7} {'STATE':<8} CREATED"
    assert row == f"{'ci' + SHOWN:<24} {'alice' + SHOWN:<20} {'-':<7} {'revoked':<8} 2026-01-02 03:04 UTC"

    hook = {"id": 7, "url": "https://h/…" + EVIL, "project": None, "user": "bob", "events": ["run.failed"]}
    header, row = printed(
        capsys, webhook.COLUMNS, [webhook.cells({**hook, "last_sent_at": "t", "last_error": EVIL})]
    )
    assert header == f"{'ID':>5}  {'URL (masked)':<40} {'SCOPE':<24} {'EVENTS':<52} LAST"
    assert (
        row == f"{7:>5}  {'https://h/…' + SHOWN:<40} {'runs of bob':<24} {'run.failed':<52} failed t: {SHOWN}"
    )
