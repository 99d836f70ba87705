"""On a CPU-only machine DeepSpeed's "Setting accelerator to CPU … unable to detect it" warning stays out of a run's
log, `grpolab export` and `grpolab train` (training.accelerator_env names the CPU before transformers imports
DeepSpeed); a user's DS_ACCELERATOR and a machine with CUDA are left alone. Real processes: a 1-step run, its export,
the same run by `grpolab train`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.training.conftest import tiny_config
from training.accelerator_env import name_cpu_accelerator

ROOT = Path(__file__).resolve().parents[2]
WARNING = "Setting accelerator to CPU"


def _run(argv: list[str], env: dict[str, str]) -> str:
    out = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    return text


@pytest.mark.skipif(torch.cuda.is_available(), reason="the warning is a CPU-only machine's")
def test_a_cpu_run_log_its_export_and_grpolab_train_carry_no_deepspeed_accelerator_warning(
    tmp_path: Path,
) -> None:
    pytest.importorskip("deepspeed")
    config = tiny_config(run={"steps": 1, "checkpoint_every": 1})
    (tmp_path / "run-config.json").write_text(config.model_dump_json())
    env = {k: v for k, v in os.environ.items() if k != "DS_ACCELERATOR"}
    env["PYTHONPATH"] = str(ROOT)
    log = _run([sys.executable, "-m", "worker.child", str(tmp_path)], env)
    assert any(
        json.loads(line[1:])["type"] == "summary" for line in log.split("\n") if line.startswith("\x1e")
    )
    assert WARNING not in log, log[-3000:]
    exported = _run(
        [sys.executable, "-m", "grpolab", "export", str(tmp_path), "--out", str(tmp_path / "m")], env
    )
    assert "exported" in exported and WARNING not in exported, exported[-3000:]
    (tmp_path / "run.json").write_text(config.model_dump_json())
    trained = _run(
        [sys.executable, "-m", "grpolab", "train", str(tmp_path / "run.json"), "--out", str(tmp_path / "t")],
        env,
    )
    assert (tmp_path / "t" / "summary.json").is_file() and WARNING not in trained, trained[-3000:]


def test_only_a_cpu_only_machine_without_a_users_choice_gets_ds_accelerator_cpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    if hasattr(torch, "xpu"):
        monkeypatch.setattr(torch.xpu, "is_available", lambda: False)
    env: dict[str, str] = {}
    assert name_cpu_accelerator(env) and env == {"DS_ACCELERATOR": "cpu"}
    chosen = {"DS_ACCELERATOR": "cuda"}
    assert not name_cpu_accelerator(chosen) and chosen == {"DS_ACCELERATOR": "cuda"}
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU machine: DeepSpeed's probe decides
    gpu: dict[str, str] = {}
    assert not name_cpu_accelerator(gpu) and gpu == {}
