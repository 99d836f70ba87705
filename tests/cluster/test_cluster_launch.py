"""`python -m grpolab.cluster.launch`, the command cluster jobs run: its refusals. It trains a one-node run for real
in test_cluster_slurm.py (the one-node sbatch script runs it); several nodes need the job's Ray cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = """\
algorithm: {group_size: 4}
rollout: {batch_size: 8}
optim: {micro_batch_size: 8}
run: {steps: 2, eval_episodes: 0, checkpoint_every: 1}
resources: {cpu_threads: 1%s}
"""


def _launch(config: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.run(
        [sys.executable, "-m", "grpolab.cluster.launch", str(config), str(out)],
        env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "status", "said"),
    [
        ("algorithm: {group_size: one}\n", 2, "algorithm.group_size"),
        ("algorithm: {norm_return: true}\n", 1, "GL001"),
        (TINY % ", nodes: 2", 2, "RAY_ADDRESS unset"),
    ],
)
def test_refusals(tmp_path: Path, text: str, status: int, said: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    done = _launch(config, tmp_path / "run")
    assert (done.returncode, said in done.stderr) == (status, True), done.stderr[-2000:]
    assert not (tmp_path / "run").exists()
