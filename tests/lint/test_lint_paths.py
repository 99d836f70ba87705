"""A path lint cannot read: GL000 with a fix about the path, not the config-field advice of an invalid config."""

from __future__ import annotations

from pathlib import Path

import pytest

from grpolab.cli import main


def test_a_missing_file_and_a_folder_say_to_check_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "confg.yaml"
    assert main(["lint", str(missing), str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert f"{missing}:1:1: GL000 error: file not found\n    fix: Check the path:" in out
    assert f"{tmp_path}:1:1: GL000 error: is a directory, not a file\n    fix: Check the path:" in out
    assert "Fix the field named" not in out


def test_an_invalid_key_still_points_at_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("algorithm:\n  estimatr: grpo\n")
    assert main(["lint", str(config)]) == 2
    out = capsys.readouterr().out
    assert "unknown key 'estimatr' (did you mean 'estimator'?)" in out
    assert "fix: Fix the field named in the message" in out
