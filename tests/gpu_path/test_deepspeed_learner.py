"""`learner.backend: deepspeed` for real on CPU: ZeRO 0/2/3 in this process, 2 ranks under torchrun, resume."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.gpu_path.conftest import random_batch, tiny_model_config

pytestmark = [pytest.mark.gpu_path, pytest.mark.slow]


def _learner(stage: int, seed: int = 0, **algo):
    from training.config import AlgorithmConfig, LearnerConfig, OptimConfig
    from training.learner.deepspeed_backend import DeepSpeedLearner
    from training.models import build_tiny_char

    model = build_tiny_char(tiny_model_config(), seed=seed).model
    return DeepSpeedLearner(
        model,
        AlgorithmConfig(**algo),
        OptimConfig(micro_batch_size=2, lr=1e-2, warmup_steps=3),
        LearnerConfig(backend="deepspeed", zero_stage=stage),
    )


@pytest.mark.parametrize("stage", [0, 2, 3])
def test_zero_stage_step_equals_torch_learner(deepspeed_ready, stage):
    """Three micro-batches accumulate to one update that equals the plain torch learner's, at every stage."""
    from training.config import AlgorithmConfig, OptimConfig
    from training.learner.torch_learner import TorchLearner
    from training.models import build_tiny_char

    ref_model = build_tiny_char(tiny_model_config(), seed=0).model
    initial = {k: v.clone() for k, v in ref_model.state_dict().items()}
    ref = TorchLearner(
        ref_model, AlgorithmConfig(kl_coef=0.1), OptimConfig(micro_batch_size=2, lr=1e-2, warmup_steps=3)
    )
    learner = _learner(stage, kl_coef=0.1)
    for step in range(2):
        expect = ref.step(random_batch(seed=step))
        got = learner.step(random_batch(seed=step))
        for key in ("loss/pg", "loss/kl", "entropy", "grad_norm", "lr"):
            assert got[key] == pytest.approx(expect[key], rel=1e-4, abs=1e-6), key
    weights = learner.full_state_dict()
    assert set(weights) == set(initial)
    for name, tensor in ref_model.state_dict().items():
        torch.testing.assert_close(weights[name], tensor, rtol=1e-4, atol=1e-4, msg=name)
    changed = [n for n in initial if not torch.allclose(weights[n], initial[n], atol=1e-6)]
    assert len(changed) >= len(initial) - 2  # every matrix moved (norm weights may move less)


@pytest.mark.parametrize("stage", [0, 3])
def test_checkpoint_resume_gives_the_same_next_step(deepspeed_ready, tmp_path, stage):
    """Save after one step; a learner built from *other* initial weights loads it and takes the next step
    exactly like the original: weights, optimizer moments and the warmup schedule come back."""
    a = _learner(stage, kl_coef=0.05)
    a.step(random_batch(seed=1))
    a.save_checkpoint(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "model.safetensors").exists()
    assert (tmp_path / "ckpt" / "config.json").exists()
    probe = random_batch(seed=7)
    expect_lp = a.logprobs(probe)
    expect = a.step(random_batch(seed=2))
    expect_w = a.full_state_dict()

    b = _learner(stage, seed=123, kl_coef=0.05)
    assert b.logprobs(probe) != expect_lp
    b.load_checkpoint(tmp_path / "ckpt")
    got_lp = b.logprobs(probe)
    assert [x for row in got_lp for x in row] == pytest.approx(
        [x for row in expect_lp for x in row], abs=1e-6
    )
    got = b.step(random_batch(seed=2))
    for key in ("loss/pg", "loss/kl", "entropy", "grad_norm", "lr"):
        assert got[key] == pytest.approx(expect[key], rel=1e-5, abs=1e-7), key
    for name, tensor in b.full_state_dict().items():
        torch.testing.assert_close(tensor, expect_w[name], rtol=0, atol=1e-6, msg=name)


def test_checkpoint_of_another_backend_is_refused(deepspeed_ready, tmp_path):
    with pytest.raises(ValueError, match=r"learner\.backend"):
        _learner(0).load_checkpoint(tmp_path)


def test_two_ranks_under_torchrun_agree(deepspeed_ready, tmp_path):
    """torchrun with 2 CPU ranks (gloo): each rank sees different data, gradients are averaged, so both end with
    the same weights — for ZeRO 0 (all-reduce) and ZeRO 3 (partitioned parameters gathered for export)."""
    script = Path(__file__).with_name("ds_two_ranks.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu", "PYTHONPATH": os.getcwd()}
    with socket.socket() as sock:  # torchrun's --master_port=0 would give each rank its own store
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        f"--master_port={port}",
        str(script),
    ]
    proc = subprocess.run([*cmd, str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    for stage in (0, 3):
        infos = [json.loads((tmp_path / f"stage{stage}-rank{r}.json").read_text()) for r in (0, 1)]
        assert [i["world"] for i in infos] == [2, 2]
        assert infos[0]["changed"] >= infos[0]["n"] - 2
        # ranks trained on different data but report the same global gradient norm after averaging
        assert infos[0]["metrics"][-1]["grad_norm"] == pytest.approx(
            infos[1]["metrics"][-1]["grad_norm"], rel=1e-5
        )
        w0, w1 = (torch.load(tmp_path / f"stage{stage}-rank{r}.pt") for r in (0, 1))
        assert set(w0) == set(w1)
        for name in w0:
            torch.testing.assert_close(w0[name], w1[name], rtol=0, atol=0, msg=name)
