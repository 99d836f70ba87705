"""How `grpolab train` (ConfigError.render) words a file it cannot use: the field where there is one, else no
"(top level)" placeholder (it read `x.yaml: (top level): file not found`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config_io import ConfigError, load_file


def rendered(path: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_file(path)
    return str(exc.value)


def test_a_missing_file_a_folder_and_bad_syntax_name_no_field(tmp_path: Path) -> None:
    assert rendered(tmp_path / "run.yaml") == f"{tmp_path / 'run.yaml'}: file not found"
    assert rendered(tmp_path) == f"{tmp_path}: is a directory, not a file"
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    assert rendered(bad).startswith(f"{bad}:2:1: not valid YAML/JSON: ")


def test_a_field_error_still_names_the_field_at_its_line(tmp_path: Path) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text("algorithm:\n  estimatr: grpo\n")
    assert rendered(typo).startswith(f"{typo}:2:3: algorithm.estimatr: unknown key 'estimatr'")
