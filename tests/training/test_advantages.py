"""Estimators on hand-worked values (seed-pipeline.md §4 and §6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.advantages import compute_advantages, whiten_transitions


def flat(x):
    return [a for g in x for e in g for a in e]


def test_seed_example_grpo_4_2():
    out = compute_advantages([[[4.0], [2.0]]], "grpo")
    assert out == [[[pytest.approx(1.0, abs=1e-8)], [pytest.approx(-1.0, abs=1e-8)]]]


def test_grpo_population_std_and_every_step_gets_episode_advantage():
    # returns 3 (=1+2), 1, 2: mean 2, population std sqrt(2/3)
    out = compute_advantages([[[1.0, 2.0], [1.0], [0.0, 2.0, 0.0]]], "grpo")
    s = math.sqrt(2 / 3)
    assert out[0][0] == pytest.approx([1 / s, 1 / s])
    assert out[0][1] == pytest.approx([-1 / s])
    assert out[0][2] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)


def test_drgrpo_rloo_ep_level():
    grp = [[[1.0], [0.0], [0.0], [0.5]]]  # one group of four single-step episodes
    assert flat(compute_advantages(grp, "drgrpo")) == pytest.approx([0.625, -0.375, -0.375, 0.125])
    # rloo: R_i − mean of the other three
    assert flat(compute_advantages(grp, "rloo")) == pytest.approx([1 - 0.5 / 3, -0.5, -0.5, 0.5 - 1 / 3])
    assert flat(compute_advantages(grp, "ep_level")) == pytest.approx([1.0, 0.0, 0.0, 0.5])


def test_none_is_discounted_reward_to_go_per_step():
    out = compute_advantages([[[1.0, 2.0, 3.0], [0.0, 1.0]]], "none", gamma=0.5)
    assert out[0][0] == pytest.approx([1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0])
    assert out[0][1] == pytest.approx([0.5, 1.0])


def test_gamma_is_ignored_by_episode_level_estimators():
    a = compute_advantages([[[0.0, 1.0], [0.0]]], "grpo", gamma=0.5)
    b = compute_advantages([[[0.0, 1.0], [0.0]]], "grpo", gamma=1.0)
    assert a == b


def test_reinforce_pp_baseline_whitens_over_action_tokens():
    groups = [[[1.0], [0.0]], [[0.0], [0.0]]]
    # stage 1: [+0.5, −0.5], [0, 0]; stage 2 over 4 one-token steps: mean 0, var 0.125
    out = flat(compute_advantages(groups, "reinforce_pp_baseline"))
    assert out == pytest.approx([0.5 / math.sqrt(0.125), -0.5 / math.sqrt(0.125), 0.0, 0.0])
    # token counts weight the statistics: the +0.5 step has 3 tokens → mean 1/6 over 6 tokens
    counts = [[[3], [1]], [[1], [1]]]
    out = flat(compute_advantages(groups, "reinforce_pp_baseline", step_token_counts=counts))
    m = (3 * 0.5 - 0.5) / 6
    v = (3 * (0.5 - m) ** 2 + (-0.5 - m) ** 2 + 2 * m**2) / 6
    assert out == pytest.approx(
        [(0.5 - m) / math.sqrt(v), (-0.5 - m) / math.sqrt(v), -m / math.sqrt(v), -m / math.sqrt(v)]
    )


@pytest.mark.parametrize("estimator", ["grpo", "drgrpo", "rloo", "reinforce_pp_baseline"])
def test_equal_returns_give_zero_even_with_float32_hazard(estimator):
    # −0.1 everywhere: float32 statistics turn rounding into O(1) advantages (the feasibility spike's collapse)
    groups = [[[-0.1]] * 8, [[0.0, -0.1]] * 3 + [[-0.1]] * 5]
    out = flat(compute_advantages(groups, estimator))
    assert max(abs(a) for a in out) < 1e-6
    r = np.full(8, -0.1, dtype=np.float32)
    naive = (r - r.mean()) / (r.std() + np.float32(1e-9))
    assert (
        np.abs(naive).max() > 0.5 or r.std() == 0
    )  # the hazard exists (or float32 happens to be exact here)


def test_nested_shape_is_kept():
    groups = [[[1.0, 0.0, 0.0], [0.0]], [[0.0, 1.0], [1.0, 0.0, 0.0, 0.0]]]
    out = compute_advantages(groups, "grpo")
    assert [[len(e) for e in g] for g in out] == [[3, 1], [2, 4]]


def test_unknown_estimator_is_refused():
    with pytest.raises(ValueError, match="unknown estimator"):
        compute_advantages([[[1.0]]], "ppo")


def test_norm_return_reproduces_seed_example_b():
    # seed-pipeline.md §6 (b): all-fail group A + mixed group B, lengths 10, 10, 2, 10
    steps = np.repeat([0.0, 0.0, 1.0, -1.0], [10, 10, 2, 10])
    out = np.asarray(whiten_transitions(steps))
    assert out[:20] == pytest.approx([0.447214] * 20, abs=1e-6)  # the all-fail group is no longer 0
    assert out[20:22] == pytest.approx([2.236068] * 2, abs=1e-6)
    assert out[22:] == pytest.approx([-1.341641] * 10, abs=1e-6)
