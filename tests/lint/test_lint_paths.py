"""`grpolab lint` on a path it cannot read or an option it does not know: the fix names what to change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grpolab.cli import main


def test_a_missing_file_and_a_folder_say_to_check_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "confg.yaml"
    assert main(["lint", str(missing), str(tmp_path)]) == 2
    out = capsys.readouterr().out
    # a path that names nothing readable has no line: it is named plainly, not as `PATH:1:1:`
    assert f"{missing}: GL000 error: file not found\n    fix: Check the path:" in out
    assert (
        f"{tmp_path}: GL000 error: is a folder, not a file (to lint the configs in it: grpolab lint "
        f"{tmp_path}/*.yaml)\n    fix: Check the path:"
    ) in out
    assert ":1:1:" not in out
    assert "Fix the field named" not in out


def test_a_folder_in_sarif_has_no_line_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("algorithm:\n  estimatr: grpo\n")
    assert main(["lint", "--format", "sarif", str(tmp_path), str(config)]) == 2
    folder, field = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert folder["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": str(tmp_path)}}
    assert field["locations"][0]["physicalLocation"]["region"]["startLine"] == 2  # a file keeps its line


def test_an_invalid_key_still_points_at_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("algorithm:\n  estimatr: grpo\n")
    assert main(["lint", str(config)]) == 2
    out = capsys.readouterr().out
    assert "unknown key 'estimatr' (did you mean 'estimator'?)" in out
    assert "fix: Fix the field named in the message" in out


def test_an_unknown_input_format_is_one_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--input-format", "trll", "examples/default.yaml", "examples/rloo.yaml"]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no finding blames the files
    assert err == (
        "grpolab lint: unknown --input-format 'trll'; choose one of: auto, grpolab, trl, verl, openrlhf, oat, gem, "
        "skyrl, roll, areal, easyr1\n"
    )


def test_an_unknown_rule_lists_each_known_rule_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--explain", "GL999"]) == 2
    known = capsys.readouterr().err.split("known: ")[1].strip().split(", ")
    assert known[:2] == ["GL000", "GL001"] and len(known) == len(set(known))
