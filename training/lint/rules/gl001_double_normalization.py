"""GL001 double-normalization: advantages normalized per group, then whitened again over the batch."""

from __future__ import annotations

import math

from training.lint.concepts import GROUP_NORMALIZING, Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules._fixes import theirs


def _group_advantages(returns: list[float], estimator: str, eps: float) -> list[float]:
    g = len(returns)
    mean = sum(returns) / g
    if estimator == "grpo":
        std = math.sqrt(sum((r - mean) ** 2 for r in returns) / g)
        return [(r - mean) / (std + eps) for r in returns]
    if estimator == "rloo":
        total = sum(returns)
        return [r - (total - r) / (g - 1) for r in returns]
    return [r - mean for r in returns]


def double_norm_example(group_size: int, batch_episodes: int, estimator: str) -> dict[str, float]:
    """Advantages of an all-fail group before and after a second whitening over transitions.

    The batch: half of its groups fail entirely (every episode 4 turns, return 0); in the other half one
    episode succeeds in 2 turns (return 1) and the others fail after 4 turns. The second pass whitens over
    transitions (each turn counted once, population std + 1e-9), as gem's `norm_return` does.
    """
    g = max(group_size, 2)
    n_groups = max(batch_episodes // g, 2)
    n_fail = n_groups // 2
    mixed = _group_advantages([1.0] + [0.0] * (g - 1), estimator, 1e-9)
    values: list[float] = []
    values += [0.0] * (n_fail * g * 4)
    for _ in range(n_groups - n_fail):
        values += [mixed[0]] * 2
        for a in mixed[1:]:
            values += [a] * 4
    m = sum(values) / len(values)
    s = math.sqrt(max(sum(v * v for v in values) / len(values) - m * m, 0.0))
    return {
        "groups": n_groups,
        "all_fail_groups": n_fail,
        "transitions": len(values),
        "before": 0.0,
        "after": (0.0 - m) / (s + 1e-9),
        "success_before": mixed[0],
        "success_after": (mixed[0] - m) / (s + 1e-9),
    }


def check(c: Concepts) -> list[Hit]:
    w = c.batch_whitening
    first_stage = c.estimator in GROUP_NORMALIZING or c.estimator == "reinforce_pp_baseline"
    reward_stage_z = c.reward_norm.mean == "group" and c.reward_norm.std == "group"
    if not (w.std and not w.intrinsic and (first_stage or reward_stage_z)):
        return []
    est = c.estimator if first_stage else "grpo"
    ex = double_norm_example(c.group_size, c.rollout_samples or c.group_size * 16, est)
    if est == "reinforce_pp_baseline":
        first = (
            f"{c.key('estimator')}: reinforce_pp_baseline already subtracts the group mean and whitens the "
            "whole batch itself"
        )
    elif est == "grpo":
        first = f"{c.key('estimator')}: {c.estimator} already normalizes advantages within each group"
    else:
        first = f"{c.key('estimator')}: {c.estimator} already centres advantages within each group"
    scope = {"transitions": "all transitions", "tokens": "all tokens", "batch": "the batch"}[w.scope]
    msg = f"double normalization: {first}, and {c.key('batch_whitening')} whitens them again over {scope}."
    if c.group_size >= 2:  # the worked example needs a real group (G = 1 is GL002's case)
        msg += (
            f" Worked example at G={c.group_size}, a batch of {ex['groups']} groups with {ex['all_fail_groups']} "
            f"failing entirely: an all-fail group's advantage is {ex['before']:+.3f} after the group step and "
            f"{ex['after']:+.3f} after the second pass (failing behaviour is pushed "
            f"{'up' if ex['after'] > 0 else 'down'}); a short success moves from {ex['success_before']:+.3f} to "
            f"{ex['success_after']:+.3f}."
        )
    if c.estimator == "drgrpo":
        msg += (
            " If group mean + batch whitening was the intent, that published design is "
            "REINFORCE++-baseline (estimator `reinforce_pp_baseline`)."
        )
    return [
        Hit(
            msg,
            ("batch_whitening", "estimator"),
            fix=theirs(
                c,
                f"drop the second pass ({c.key('batch_whitening')}), or, if group mean + batch whitening is what "
                "you want, use this framework's REINFORCE++-baseline estimator",
            ),
        )
    ]


RULE = Rule(
    id="GL001",
    name="double-normalization",
    severity="error",
    title="Advantages normalized per group, then whitened again over the batch",
    why=(
        "A group estimator (grpo, drgrpo, rloo) already gives each group mean 0; a second whitening over all "
        "transitions or tokens shifts every advantage by the batch mean and rescales it by the batch std. An "
        "all-fail group's advantages, exactly 0 after the first step, become nonzero, with a sign set by the "
        "lengths of episodes in *other* groups; long episodes weigh more because each transition counts "
        "once; and when a random subsample sits between the two passes, the same transition gets a different "
        "advantage depending on which others were drawn. The run silently optimizes a different objective "
        "than the one named."
    ),
    fix=(
        "Drop the second pass (`algorithm.norm_return: false`; gem `--no-norm_return`; ROLL "
        "`whiten_advantages: false`; AReaL `adv_norm: null`; SkyRL `advantage_batch_normalize: false`). If "
        "group mean + batch whitening is what you want, use the published REINFORCE++-baseline (`estimator: "
        "reinforce_pp_baseline` without `norm_return`)."
    ),
    check=check,
    example="algorithm:\n  estimator: grpo\n  norm_return: true\n",
    fixed_example="algorithm:\n  estimator: grpo\n  norm_return: false\n",
    references=(
        "axon-rl/gem PR #113",
        "seed-pipeline.md §6",
    ),
)
