"""Advantage estimators: pure functions over per-step rewards, no torch.

`compute_advantages(groups, estimator, gamma=1.0, std_eps=1e-9)` follows the seed pipeline's actor-side
estimators exactly (../shared/reference/seed-pipeline.md §4) and fixes its float32 hazard: group statistics are
taken in float64 from exactly summed returns, so a group whose returns are equal gets advantage 0 (|A| < 1e-6),
never the O(1) values that rounding divided by a tiny std produces.

`whiten_transitions` is the learner-side `norm_return` of the seed (§4.6), implemented faithfully so its harm can
be measured; the fixed pipeline never calls it unless `algorithm.norm_return: true`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Episode-level estimators: one advantage per episode, put on every step of it.
EPISODE_LEVEL = frozenset({"grpo", "drgrpo", "rloo", "ep_level", "reinforce_pp_baseline"})
ESTIMATORS = frozenset({*EPISODE_LEVEL, "none"})

Groups = Sequence[Sequence[Sequence[float]]]


def episode_return(rewards: Sequence[float]) -> float:
    """Plain (undiscounted) sum of an episode's step rewards, correctly rounded (math.fsum)."""
    return math.fsum(float(r) for r in rewards)


def _group_deviation(returns: np.ndarray) -> np.ndarray:
    """R − mean(R) in float64; exactly 0 for a group whose returns are all equal."""
    if returns.size == 0:
        return returns
    if np.all(returns == returns[0]):
        return np.zeros_like(returns)
    return returns - math.fsum(returns.tolist()) / returns.size


def group_advantages(returns: Sequence[float], estimator: str, std_eps: float = 1e-9) -> list[float]:
    """Episode advantages of one group from its episode returns (episode-level estimators only)."""
    r = np.asarray(returns, dtype=np.float64)
    g = r.size
    if estimator == "ep_level":
        return r.tolist()
    if estimator in ("drgrpo", "reinforce_pp_baseline"):
        return _group_deviation(r).tolist()
    if estimator == "grpo":
        dev = _group_deviation(r)
        std = math.sqrt(math.fsum((dev * dev).tolist()) / g) if g else 0.0  # population std (np.std)
        return (dev / (std + std_eps)).tolist()
    if estimator == "rloo":
        if g < 2:
            raise ValueError("rloo needs at least 2 episodes per group (algorithm.group_size ≥ 2)")
        if np.all(r == r[0]):
            return [0.0] * g
        total = math.fsum(r.tolist())
        return [float(ri - (total - ri) / (g - 1)) for ri in r.tolist()]
    raise ValueError(f"unknown episode-level estimator {estimator!r}")


def reward_to_go(rewards: Sequence[float], gamma: float) -> list[float]:
    """G_t = r_t + γ G_{t+1}, backwards within one episode (estimator `none`)."""
    out = [0.0] * len(rewards)
    acc = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        acc = float(rewards[t]) + gamma * acc
        out[t] = acc
    return out


def compute_advantages(
    groups: Groups,
    estimator: str,
    gamma: float = 1.0,
    std_eps: float = 1e-9,
    step_token_counts: Sequence[Sequence[Sequence[int]]] | None = None,
) -> list[list[list[float]]]:
    """Advantage of every step of every episode, with the same nesting as `groups`.

    `groups[g][e][t]` is the reward of step t of episode e of group g. Episode-level estimators (`grpo`, `drgrpo`,
    `rloo`, `ep_level`, `reinforce_pp_baseline`) use the plain sum of an episode's rewards as its return (gamma is
    unused, as in the seed) and give every step of the episode the same advantage; `none` gives each step its
    discounted reward-to-go.

    `reinforce_pp_baseline` whitens (R − group mean) over all action tokens of the batch; `step_token_counts`
    (same nesting, tokens of each step's action) weights that mean and variance. Without it every step counts as
    one token.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; expected one of {sorted(ESTIMATORS)}")
    if estimator == "none":
        return [[reward_to_go(ep, gamma) for ep in group] for group in groups]

    out: list[list[list[float]]] = []
    for group in groups:
        ep_adv = group_advantages([episode_return(ep) for ep in group], estimator, std_eps)
        out.append([[a] * len(ep) for a, ep in zip(ep_adv, group, strict=True)])

    if estimator == "reinforce_pp_baseline":
        out = _whiten_over_tokens(out, step_token_counts)
    return out


def _whiten_over_tokens(
    adv: list[list[list[float]]], counts: Sequence[Sequence[Sequence[int]]] | None
) -> list[list[list[float]]]:
    """Token-weighted batch whitening (OpenRLHF `normalize`: (x − mean)·rsqrt(clamp(var, 1e-8)))."""
    values: list[float] = []
    weights: list[float] = []
    for gi, group in enumerate(adv):
        for ei, ep in enumerate(group):
            for ti, a in enumerate(ep):
                values.append(a)
                weights.append(float(counts[gi][ei][ti]) if counts is not None else 1.0)
    if not values:
        return adv
    x = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if total <= 0:
        return adv
    mean = float((x * w).sum() / total)
    var = float((((x - mean) ** 2) * w).sum() / total)
    scale = 1.0 / math.sqrt(max(var, 1e-8))
    return [[[(a - mean) * scale for a in ep] for ep in group] for group in adv]


def whiten_transitions(values: Sequence[float], eps: float = 1e-9) -> list[float]:
    """The seed's learner-side `norm_return` (seed-pipeline.md §4.6), faithfully.

    Over the transitions of the learning batch, each counted once whatever its token length:
    m = Σx/N, s = sqrt(Σx²/N − m²) (population std), x' = (x − m)/(s + eps). Computed in float64; the seed's
    possible NaN from a slightly negative variance is avoided by clamping at 0 (it does not change the harm).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return []
    m = float(x.sum() / x.size)
    s = math.sqrt(max(float((x * x).sum() / x.size) - m * m, 0.0))
    return ((x - m) / (s + eps)).tolist()
