"""What `pipeline.setup` builds, in which order: a fresh run is warm-started before the learner exists (the KL
reference and DeepSpeed's fp32 master weights start from the warm-started policy; built afterwards, ZeRO-2 would
overwrite the warm start at the first step), and under ZeRO-3 the hf sampler gets its own full copy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.training.conftest import tiny_config
from training.models import load_policy
from training.pipeline import build_batch, learn, resume_or_start, rollout, setup


def _warm_config(**learner):
    return tiny_config(
        warm_start={"steps": 3, "batch_size": 16, "lr": 1e-2},
        algorithm={"kl_coef": 0.05},
        optim={"lr": 1e-7},
        learner=learner,
    )


def _init_weights(cfg):
    return {k: v.clone() for k, v in load_policy(cfg.model, seed=cfg.run.seed).model.state_dict().items()}


def _far(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_the_kl_reference_is_the_warm_started_policy(tmp_path):
    cfg = _warm_config()
    run = setup(cfg, tmp_path, resume=False)
    warm = run.policy.model.state_dict()
    assert _far(warm, _init_weights(cfg)) > 1e-3  # the warm start moved the weights
    ref = run.learner.ref_model.state_dict()
    assert _far(warm, ref) == 0.0


@pytest.mark.gpu_path
def test_deepspeed_zero2_keeps_the_warm_start(tmp_path):
    pytest.importorskip("deepspeed", reason="deepspeed is installed by `make gpu-path` (docs/gpu.md)")
    cfg = _warm_config(backend="deepspeed", zero_stage=2)
    run = setup(cfg, tmp_path, resume=False)
    warm = {k: v.clone() for k, v in run.learner.export_weights()}
    rng = np.random.default_rng([cfg.run.seed, 1, 1])
    batch, _ = build_batch(rollout(run, rng), cfg, rng)
    run.learner.step(batch)
    after = {k: v.clone() for k, v in run.learner.export_weights()}
    # lr 1e-7: one AdamW step moves each weight by about 1e-7; reverting to the init would move it by ≥ 1e-3
    assert _far(after, warm) < 1e-5
    assert _far(warm, _init_weights(cfg)) > 1e-3
    run.learner.close()


@pytest.mark.gpu_path
def test_deepspeed_zero3_samples_with_its_own_full_copy_synced_each_step(tmp_path):
    pytest.importorskip("deepspeed", reason="deepspeed is installed by `make gpu-path` (docs/gpu.md)")
    cfg = tiny_config(learner={"backend": "deepspeed", "zero_stage": 3}, optim={"micro_batch_size": 8})
    run = setup(cfg, tmp_path, resume=False)
    resume_or_start(run)
    sampler = run.rollout.model
    assert sampler is not run.policy.model  # the learner's module holds only its partition
    rng = np.random.default_rng([cfg.run.seed, 1, 1])
    batch, _ = build_batch(rollout(run, rng), cfg, rng)
    learn(run, batch)
    exported = dict(run.learner.export_weights())
    init, moved = _init_weights(cfg), 0
    for name, p in sampler.named_parameters():
        assert torch.equal(p, exported[name]), name
        moved += int(not torch.equal(p, init[name]))
    assert moved > 0
    run.learner.close()
