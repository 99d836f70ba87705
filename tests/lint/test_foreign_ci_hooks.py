"""`.pre-commit-hooks.yaml` and the composite GitHub Action `action.yml`: every hook runs a real `grpolab lint`
entry on a file of its family, and the action's lint script writes SARIF and reports the exit code."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from training.lint.adapters import FORMATS

ROOT = Path(__file__).resolve().parents[2]
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
BIN = Path(sys.executable).parent

# a file of each family that must block a commit (exit 1)
FIRING = {
    "auto": "tests/lint/foreign/gem/grpo_default_norm_return.sh",
    "grpolab": "examples/seed-buggy.yaml",
    "trl": "tests/lint/foreign/trl/split_groups.yaml",
    "verl": "tests/lint/foreign/verl/grpo_single_sample.sh",
    "openrlhf": "tests/lint/foreign/openrlhf/group_norm_no_std.sh",
    "oat": "tests/lint/foreign/oat/greedy.sh",
    "gem": "tests/lint/foreign/gem/grpo_default_norm_return.sh",
    "skyrl": "tests/lint/foreign/skyrl/grpo_batch_normalize.yaml",
    "roll": "tests/lint/foreign/roll/rlvr_grpo_whiten.yaml",
    "areal": "tests/lint/foreign/areal/gsm8k_grpo_twice.yaml",
    "easyr1": "tests/lint/foreign/easyr1/grpo_single_sample.sh",
}


def test_one_hook_per_format_plus_the_default() -> None:
    ids = [h["id"] for h in HOOKS]
    assert ids[0] == "grpolab-lint" and len(ids) == len(set(ids))
    assert sorted(ids[1:]) == sorted(f"grpolab-lint-{f}" for f in FORMATS)
    for h in HOOKS:
        assert h["language"] == "python" and h["entry"].startswith("grpolab lint --input-format ")


@pytest.mark.parametrize("hook", HOOKS, ids=[h["id"] for h in HOOKS])
def test_hook_entry_blocks_a_firing_file(hook: dict) -> None:
    fmt = hook["entry"].split("--input-format ")[1].split()[0]
    argv = shlex.split(hook["entry"])
    p = subprocess.run(
        [str(BIN / argv[0]), *argv[1:], FIRING[fmt]], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 1, p.stdout + p.stderr


def _lint_script() -> str:
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "lint")
    return step["run"]


def test_action_is_composite_and_uploads_sarif() -> None:
    assert ACTION["runs"]["using"] == "composite"
    uses = [s.get("uses", "") for s in ACTION["runs"]["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert "--format sarif" in _lint_script()


def _run_action_script(tmp_path: Path, files: str) -> tuple[dict[str, str], Path]:
    out = tmp_path / "github_output"
    sarif = tmp_path / "report.sarif"
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "FILES": files,
        "INPUT_FORMAT": "auto",
        "SARIF": str(sarif),
        "GITHUB_OUTPUT": str(out),
    }
    p = subprocess.run(
        ["bash", "-c", _lint_script()], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr  # the step itself never fails: the last step decides
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    return outputs, sarif


def test_action_lint_step_writes_sarif_and_exit_code(tmp_path: Path) -> None:
    outputs, sarif = _run_action_script(tmp_path, "tests/lint/foreign/roll/*.yaml")
    assert outputs["exit-code"] == "1"
    doc = json.loads(sarif.read_text())
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]
    }
    assert "tests/lint/foreign/roll/rlvr_grpo_whiten.yaml" in uris


def test_action_lint_step_clean_files_and_no_match(tmp_path: Path) -> None:
    outputs, _ = _run_action_script(
        tmp_path, "tests/lint/foreign/verl/drgrpo.yaml tests/lint/foreign/trl/dapo_*.yaml"
    )
    assert outputs["exit-code"] == "0"
    outputs, _ = _run_action_script(tmp_path, "nothing/**/*.yaml")
    assert outputs["exit-code"] == "2"
