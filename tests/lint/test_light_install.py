"""`grpolab lint` from the light install: it must run where only the core dependencies exist (pydantic, pyyaml,
numpy, tree-sitter-bash), and linting a TRL or verl file must not even load pydantic.

Each case runs the real CLI in a fresh interpreter in which the heavy packages cannot be imported (an entry of
None in `sys.modules` makes `import x` fail), then reports which heavy modules got loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE_AND_TRAIN = [
    "torch",
    "transformers",
    "trl",
    "vllm",
    "deepspeed",
    "fastapi",
    "sqlalchemy",
    "celery",
    "rich",
]

PROGRAM = """
import json, sys
blocked = json.loads(sys.argv[1])
for name in blocked:
    sys.modules[name] = None
from grpolab.cli import main
code = main(sys.argv[2:])
heavy = sorted(m for m in ("pydantic", "api", "worker", "training.pipeline", *blocked) if sys.modules.get(m))
print(json.dumps({"exit": code, "heavy": heavy}), file=sys.stderr)
"""


def run_lint(blocked: list[str], *args: str) -> tuple[int, list[str], str]:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(blocked), "lint", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.stderr.strip(), out.stdout
    report = json.loads(out.stderr.strip().splitlines()[-1])
    return report["exit"], report["heavy"], out.stdout


@pytest.mark.parametrize(
    ("path", "exit_code", "expected"),
    [
        ("tests/lint/foreign/trl/split_groups.yaml", 1, "GL006 error"),
        ("tests/lint/foreign/verl/grpo_single_sample.sh", 1, "GL002 error"),
    ],
)
def test_foreign_configs_lint_without_pydantic_or_the_service(
    path: str, exit_code: int, expected: str
) -> None:
    code, heavy, stdout = run_lint([*SERVICE_AND_TRAIN, "pydantic"], path)
    assert (code, heavy) == (exit_code, []), stdout
    assert expected in stdout


def test_a_trl_python_script_lints_without_the_service(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "from trl import GRPOConfig\nargs = GRPOConfig(num_generations=8, generation_batch_size=12)\n"
    )
    code, heavy, stdout = run_lint([*SERVICE_AND_TRAIN, "pydantic"], str(script))
    assert (code, heavy) == (1, []) and f"{script}:2:" in stdout


def test_our_config_needs_only_pydantic() -> None:
    code, heavy, stdout = run_lint(SERVICE_AND_TRAIN, "examples/seed-buggy.yaml")
    assert code == 1 and "GL001 error" in stdout
    assert heavy == ["pydantic"]  # the RunConfig schema; nothing of the service or the trainer


def test_sarif_output_needs_no_cli_package_internals() -> None:
    code, heavy, stdout = run_lint(
        [*SERVICE_AND_TRAIN, "pydantic"], "--format", "sarif", "tests/lint/foreign/trl/split_groups.yaml"
    )
    doc = json.loads(stdout)
    assert code == 1 and heavy == []
    assert doc["runs"][0]["tool"]["driver"]["version"]  # from the installed package's metadata
    assert any(r["ruleId"] == "GL006" for r in doc["runs"][0]["results"])
