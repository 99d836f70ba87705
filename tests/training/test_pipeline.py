"""The fixed pipeline end to end on a tiny model: files, determinism, resume, masking, a short learning test."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.training.conftest import tiny_config
from training.backends import TrainBatch, TrainSequence
from training.config import RunConfig
from training.envs.runner import Episode
from training.learner.torch_learner import TorchLearner
from training.models import build_tiny_char
from training.pipeline import build_batch, train

TIMING = ("time/", "throughput/")


def read_metrics(out):
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def strip_timing(rows):
    return [{k: v for k, v in r.items() if not k.startswith(TIMING)} for r in rows]


def test_outputs_and_metric_names(tmp_path):
    seen = []
    summary = train(tiny_config(run={"eval_episodes": 64}), tmp_path, on_metrics=lambda s, m: seen.append(s))
    rows = read_metrics(tmp_path)
    assert [r["step"] for r in rows] == [1, 2, 3, 4] == seen
    for name in (
        "rollout/reward_mean",
        "rollout/success_rate",
        "rollout/episode_len",
        "adv/mean",
        "adv/std",
        "adv/zero_frac",
        "loss/pg",
        "loss/kl",
        "entropy",
        "time/rollout_s",
        "time/learn_s",
        "throughput/tokens_per_s",
    ):
        assert name in rows[0], name
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["eval/episodes"] >= 512  # never judged on fewer than 512 fresh episodes
    assert 0.0 <= saved["eval/success_rate"] <= 1.0
    assert summary["steps"] == 4
    assert (tmp_path / "checkpoints" / "step-000004" / "model.safetensors").exists()


def test_same_seed_same_metrics(tmp_path):
    train(tiny_config(), tmp_path / "a")
    train(tiny_config(), tmp_path / "b")
    a, b = strip_timing(read_metrics(tmp_path / "a")), strip_timing(read_metrics(tmp_path / "b"))
    assert a == b
    c = tiny_config(run={"seed": 1})
    train(c, tmp_path / "c")
    assert strip_timing(read_metrics(tmp_path / "c")) != a


def test_resume_equals_uninterrupted_run(tmp_path):
    cfg = tiny_config(run={"steps": 6, "checkpoint_every": 2})
    train(cfg, tmp_path / "full")
    calls = {"n": 0}

    def stop_after_three() -> bool:  # polled before each step: stops before step 4, last checkpoint at 2
        calls["n"] += 1
        return calls["n"] > 3

    s = train(cfg, tmp_path / "cut", should_stop=stop_after_three)
    assert s["stopped"] is True
    assert len(read_metrics(tmp_path / "cut")) == 3
    train(cfg, tmp_path / "cut")  # resume=True by default: continues from the latest checkpoint
    assert strip_timing(read_metrics(tmp_path / "cut")) == strip_timing(read_metrics(tmp_path / "full"))


def _episode(group, rewards, success):
    ep = Episode(group_id=group, seed=0)
    ep.rewards = list(rewards)
    ep.success = success
    ep.action_tokens = [2] * len(rewards)
    for t in range(len(rewards)):
        ep._append([5], 0, None, -1)
        ep._append([6, 7], 1, [-1.0, -1.0], t)
    return ep


def _action_advantages(batch, group):
    return [
        a
        for s in batch.sequences
        if s.group_id == group
        for a, m in zip(s.advantages, s.action_mask, strict=True)
        if m
    ]


def _groups():
    # seed-pipeline.md §6 (b): group 0 all fail (two 10-turn failures); group 1 a 2-turn success, a 10-turn failure
    return [
        [_episode(0, [0.0] * 10, False), _episode(0, [0.0] * 10, False)],
        [_episode(1, [0.0, 1.0], True), _episode(1, [0.0] * 10, False)],
    ]


def test_all_fail_group_is_zero_in_fixed_pipeline_not_under_norm_return():
    fixed = RunConfig()
    batch, stats = build_batch(_groups(), fixed, np.random.default_rng(0))
    all_fail = _action_advantages(batch, group=0)
    assert all_fail and all(a == 0.0 for a in all_fail)
    assert stats["diag/flat_nonzero_frac"] == 0.0

    double = RunConfig.model_validate({"algorithm": {"norm_return": True}})
    batch, stats = build_batch(_groups(), double, np.random.default_rng(0))
    all_fail = _action_advantages(batch, group=0)
    assert all_fail == pytest.approx([0.447214] * len(all_fail), abs=1e-5)
    assert stats["diag/flat_nonzero_frac"] == 1.0
    assert stats["diag/flat_adv_mean"] == pytest.approx(0.447214, abs=1e-5)


def test_group_subsampling_keeps_whole_groups():
    cfg = RunConfig.model_validate({"rollout": {"subsample": {"unit": "groups", "size": 1}}})
    batch, _ = build_batch(_groups(), cfg, np.random.default_rng(3))
    assert len({s.group_id for s in batch.sequences}) == 1
    assert len(batch.sequences) == 2 and all(
        sum(s.action_mask) == len(s.action_mask) * 2 // 3 for s in batch.sequences
    )


def _grads(learner, batch):
    learner.optimizer.zero_grad(set_to_none=True)
    learner.optim_cfg = learner.optim_cfg.model_copy(update={"max_grad_norm": 1e9})
    for p in learner.model.parameters():
        p.grad = None
    # one step with lr 0 leaves the weights; the gradients stay readable on the parameters
    for g in learner.optimizer.param_groups:
        g["lr"] = 0.0
    learner.step(batch)
    return torch.cat([p.grad.flatten() for p in learner.model.parameters() if p.grad is not None])


@pytest.mark.parametrize("agg", ["token_mean", "seq_mean_token_mean", "seq_mean_token_sum"])
def test_no_loss_on_observation_tokens(agg):
    # no entropy bonus: its gradient does not flip sign with the advantages
    cfg = tiny_config(algorithm={"loss_agg": agg, "entropy_coef": 0.0})
    policy = build_tiny_char(cfg.model, seed=0)
    learner = TorchLearner(policy.model, cfg.algorithm, cfg.optim, default_length_norm=8)
    ids = [1, 15, 5, 13, 11, 6, 13]
    mask = [0, 0, 1, 1, 0, 1, 1]
    adv = [0.0, 0.0, 1.0, 1.0, 0.0, -0.5, -0.5]
    other = [s for s in adv]
    for i, m in enumerate(mask):
        if not m:
            other[i] = 123.0  # garbage where the mask is 0 must not matter
    seq = lambda a: TrainSequence(ids, mask, a, [0.0] * len(ids))  # noqa: E731
    g1 = _grads(learner, TrainBatch([seq(adv)]))
    g2 = _grads(learner, TrainBatch([seq(other)]))
    assert torch.equal(g1, g2)
    flipped = [-a for a in adv]
    g3 = _grads(learner, TrainBatch([seq(flipped)]))
    assert torch.allclose(g3, -g1, atol=1e-7) and g1.abs().sum() > 0


def test_micro_batches_accumulate_to_the_full_batch_gradient():
    cfg = tiny_config()
    seqs = [
        TrainSequence([1, 15, 5, 13, 11, 6, 13], [0, 0, 1, 1, 0, 1, 1], [0, 0, 1, 1, 0, 1, 1.0], [0.0] * 7),
        TrainSequence([1, 15, 9, 13], [0, 0, 1, 1], [0, 0, -1.0, -1.0], [0.0] * 4),
        TrainSequence(
            [1, 15, 7, 13, 12, 4, 13], [0, 0, 1, 1, 0, 1, 1], [0, 0, 0.5, 0.5, 0, 0.5, 0.5], [0.0] * 7
        ),
    ]
    for agg in ("token_mean", "seq_mean_token_mean"):
        c = cfg.model_copy(update={"algorithm": cfg.algorithm.model_copy(update={"loss_agg": agg})})
        whole = TorchLearner(build_tiny_char(c.model).model, c.algorithm, c.optim)
        small = TorchLearner(
            build_tiny_char(c.model).model, c.algorithm, c.optim.model_copy(update={"micro_batch_size": 1})
        )
        assert torch.allclose(_grads(whole, TrainBatch(seqs)), _grads(small, TrainBatch(seqs)), atol=1e-6)


@pytest.mark.slow
def test_short_learning_run_improves_reward(tmp_path):
    cfg = RunConfig.model_validate({"run": {"steps": 60, "eval_episodes": 0, "checkpoint_every": 0}})
    train(cfg, tmp_path)
    rows = read_metrics(tmp_path)
    before = np.mean([r["rollout/reward_mean"] for r in rows[:5]])
    after = np.mean([r["rollout/reward_mean"] for r in rows[-5:]])
    assert after > before + 0.2
