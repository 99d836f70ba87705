"""The training child's memory limit (GRPOLAB_CHILD_MEM_LIMIT_MB → RLIMIT_AS): a real child process that cannot
fit fails with an error event naming the limit and the setting. About a second (torch fails to load)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.child import MARK, limit_memory

ROOT = Path(__file__).resolve().parents[2]


def events(stdout: str) -> list[dict]:
    # split at newlines only: str.splitlines() also splits at the record separator that starts each event
    return [json.loads(line[1:]) for line in stdout.split("\n") if line.startswith(MARK)]


def test_a_child_over_its_memory_limit_fails_with_the_limit_named(tmp_path: Path) -> None:
    (tmp_path / "run-config.json").write_text(json.dumps({"run": {"steps": 1}}))
    env = {**os.environ, "GRPOLAB_CHILD_MEM_LIMIT_MB": "300", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "worker.child", str(tmp_path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert events(out.stdout), out.stdout[-2000:] + out.stderr[-2000:]
    [error] = [e for e in events(out.stdout) if e["type"] == "error"]
    assert "memory limit of 300 MiB (GRPOLAB_CHILD_MEM_LIMIT_MB)" in error["message"], error
    assert not [e for e in events(out.stdout) if e["type"] == "summary"]


@pytest.mark.parametrize("raw", ["lots", "0"])
def test_a_bad_limit_is_refused_with_the_setting_named(raw: str) -> None:
    with pytest.raises(ValueError, match="GRPOLAB_CHILD_MEM_LIMIT_MB"):
        limit_memory({"GRPOLAB_CHILD_MEM_LIMIT_MB": raw})


def test_no_limit_when_unset() -> None:
    assert limit_memory({}) is None
