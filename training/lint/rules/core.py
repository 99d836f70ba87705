"""GL001–GL008: double normalization and its closest cousins (fixed ids)."""

from __future__ import annotations

import math

from training.lint.concepts import GROUP_NORMALIZING, Concepts
from training.lint.findings import Hit, Rule

# ---------------------------------------------------------------------------------------------- worked example


def _group_advantages(returns: list[float], estimator: str, eps: float) -> list[float]:
    g = len(returns)
    mean = sum(returns) / g
    if estimator == "grpo":
        std = math.sqrt(sum((r - mean) ** 2 for r in returns) / g)
        return [(r - mean) / (std + eps) for r in returns]
    if estimator == "rloo":
        total = sum(returns)
        return [r - (total - r) / (g - 1) for r in returns]
    return [r - mean for r in returns]  # drgrpo, reinforce_pp_baseline stage 1


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


# ---------------------------------------------------------------------------------------------- checks


def _theirs(c: Concepts, fix: str) -> str | None:
    """A fix spelled in a foreign framework's own keys; None keeps the rule's fix (our format's keys)."""
    return None if c.framework == "grpolab" else fix


def check_double_normalization(c: Concepts) -> list[Hit]:
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
            fix=_theirs(
                c,
                f"drop the second pass ({c.key('batch_whitening')}), or, if group mean + batch whitening is what "
                "you want, use this framework's REINFORCE++-baseline estimator",
            ),
        )
    ]


def check_group_too_small(c: Concepts) -> list[Hit]:
    if not c.group_relative or c.group_size >= 2:
        return []
    return [
        Hit(
            f"{c.key('group_size')} is {c.group_size} with the group-relative estimator {c.estimator}: a group of "
            "one is its own baseline, so every advantage is 0 (or, in some frameworks, the raw reward passes "
            "through with no baseline) and nothing is learned as intended.",
            ("group_size", "estimator"),
            fix=_theirs(c, f"set {c.key('group_size')} to 2 or more (4–16 is typical)"),
        )
    ]


def check_greedy_group(c: Concepts) -> list[Hit]:
    if not c.group_relative:
        return []
    if c.greedy:
        return [
            Hit(
                f"{c.key('greedy')} decodes greedily with the group-relative estimator {c.estimator}: the "
                f"{c.group_size} episodes of a group coincide, every group ties and every advantage is 0.",
                ("greedy",),
                fix=_theirs(c, f"sample for training ({c.key('greedy')} on, temperature ≈ 1.0)"),
            )
        ]
    if c.temperature == 0:
        return [
            Hit(
                f"{c.key('temperature')} is 0 (greedy) with the group-relative estimator {c.estimator}: the "
                f"{c.group_size} episodes of a group coincide, every group ties and every advantage is 0.",
                ("temperature",),
                fix=_theirs(
                    c, f"set {c.key('temperature')} to about 1.0 for training; keep greedy for evaluation"
                ),
            )
        ]
    return []


def check_half_drgrpo(c: Concepts) -> list[Hit]:
    hits = []
    if (c.estimator == "drgrpo" or c.no_std_requested) and c.loss_agg == "seq_mean_token_mean":
        hits.append(
            Hit(
                f"half of Dr. GRPO: the std division is gone ({c.key('estimator')}: {c.estimator}) but "
                f"{c.key('loss_agg')} still averages each episode's tokens (seq_mean_token_mean), so a long "
                "wrong answer gets 1/10 the per-token push of one 10× shorter and wrong answers drift longer.",
                ("loss_agg", "estimator"),
                fix=_theirs(c, f"use a token sum over a constant ({c.key('loss_agg')}) with the std removed"),
            )
        )
    if c.loss_agg == "seq_mean_token_sum_norm" and c.group_norm_std:
        hits.append(
            Hit(
                f"half of Dr. GRPO: {c.key('loss_agg')} uses Dr. GRPO's constant normalizer but advantages are "
                f"still divided by the group std ({c.key('estimator')}: {c.estimator}), so a prompt solved once in "
                "16 weighs ~2× a 50/50 prompt.",
                ("loss_agg", "estimator"),
                fix=_theirs(c, f"remove the group std division ({c.key('group_norm_std')}) as Dr. GRPO does")
                or "use estimator `drgrpo` (group mean only) together with the constant normalizer",
            )
        )
    if (
        c.loss_agg == "seq_mean_token_sum_norm"
        and c.length_norm_constant is None
        and c.framework != "grpolab"
    ):
        hits.append(
            Hit(
                f"{c.key('loss_agg')} divides token sums by the batch's padded length, not a fixed constant: the "
                "normalizer changes from batch to batch.",
                ("length_norm_constant", "loss_agg"),
                severity="info",
                fix="set a fixed constant (the maximum response length)",
            )
        )
    return hits


def check_gamma_ignored(c: Concepts) -> list[Hit]:
    if c.gamma == 1 or c.gamma_used_by_estimator:
        return []
    return [
        Hit(
            f"{c.key('gamma')} is {c.gamma:g} but the estimator {c.estimator} sums rewards undiscounted: "
            "the discount changes nothing.",
            ("gamma", "estimator"),
            fix=_theirs(c, f"set {c.key('gamma')} to 1.0, or pick an estimator that discounts"),
        )
    ]


def check_group_split(c: Concepts) -> list[Hit]:
    hits = []
    g = c.group_size
    if g >= 2 and c.positional_grouping:
        for concept, what in (
            ("rollout_samples", "samples per rollout batch"),
            ("per_device_samples", "samples per device"),
            ("minibatch_samples", "samples per mini-batch"),
        ):
            n = getattr(c, concept)
            if n is not None and n % g != 0:
                hits.append(
                    Hit(
                        f"{c.key(concept)} gives {n} {what}, not a multiple of the group size {g}: "
                        f"{n % g} episodes of a group land in another batch, whose baseline then mixes prompts.",
                        (concept, "group_size"),
                        fix=_theirs(c, f"make {c.key(concept)} a multiple of {c.key('group_size')} ({g})"),
                    )
                )
    if c.subsample_after_norm or c.subsample_unit == "transitions":
        followed = c.batch_whitening.std and not c.batch_whitening.intrinsic
        if c.subsample_unit == "transitions" or followed:
            size = f" {c.subsample_size}" if c.subsample_size else ""
            msg = (
                f"{c.key('subsample_unit', 'subsampling')} keeps{size} random transitions regardless of groups "
                "after the group advantages were computed: the surviving members of a group no longer sum to zero"
            )
            if followed:
                msg += ", and the batch whitening then computes its statistics on that random subset"
            hits.append(
                Hit(
                    msg + ".",
                    ("subsample_unit", "group_size"),
                    severity="error" if followed or c.framework == "grpolab" else "info",
                    fix=_theirs(c, "subsample whole groups or not at all")
                    or "subsample whole groups (`rollout.subsample.unit: groups`) or not at all",
                )
            )
    return hits


def check_kl_without_reference(c: Concepts) -> list[Hit]:
    hits = []
    coef = max(c.kl_loss_coef if c.kl_in_loss else 0.0, c.kl_reward_coef if c.kl_in_reward else 0.0)
    if coef > 0 and not c.use_ref:
        hits.append(
            Hit(
                f"a KL coefficient of {coef:g} is set but there is no reference policy ({c.key('use_ref')}): the "
                "term measures nothing (or, in AReaL, turns into an entropy bonus).",
                ("use_ref", "kl_loss_coef", "kl_reward_coef"),
                # a zero reference turns the penalty into −coef·log π, an entropy bonus nobody asked for
                severity="error" if c.missing_ref_is_zeros else None,
                fix=_theirs(
                    c, f"configure a reference model ({c.key('use_ref')}) or set the coefficient to 0"
                ),
            )
        )
    if c.kl_in_loss and c.kl_in_reward and c.kl_loss_coef > 0 and c.kl_reward_coef > 0:
        hits.append(
            Hit(
                f"KL is applied twice: in the reward ({c.key('kl_reward_coef')} = {c.kl_reward_coef:g}) and in the "
                f"loss ({c.key('kl_loss_coef')} = {c.kl_loss_coef:g}).",
                ("kl_reward_coef", "kl_loss_coef"),
                fix="keep one placement: the loss for GRPO, the reward for REINFORCE++",
            )
        )
    return hits


def check_std_eps(c: Concepts) -> list[Hit]:
    if not c.group_norm_std or c.std_eps is None or c.std_eps > 0:
        return []
    return [
        Hit(
            f"{c.key('std_eps')} is {c.std_eps:g} with group std normalization: a group whose rewards all tie "
            "divides 0 by 0 and the step's loss is NaN.",
            ("std_eps",),
            fix=_theirs(c, f"keep {c.key('std_eps')} positive (1e-6 is common)"),
        )
    ]


RULES: list[Rule] = [
    Rule(
        id="GL001",
        name="double-normalization",
        severity="error",
        title="Advantages normalized per group, then whitened again over the batch",
        why=(
            "A group estimator (grpo, drgrpo, rloo) already gives each group mean 0; a second whitening over all "
            "transitions or tokens shifts every advantage by the batch mean and rescales it by the batch std. "
            "An all-fail group's advantages, exactly 0 after the first step, become nonzero, with a sign set by "
            "the lengths of episodes in *other* groups; long episodes weigh more because each transition counts "
            "once; and when a random subsample sits between the two passes, the same transition gets a "
            "different advantage depending on which others were drawn. The run silently optimizes a different "
            "objective than the one named."
        ),
        fix=(
            "Drop the second pass (`algorithm.norm_return: false`; gem `--no-norm_return`; ROLL "
            "`whiten_advantages: false`; AReaL `adv_norm: null`; SkyRL `advantage_batch_normalize: false`). If "
            "group mean + batch whitening is what you want, use the published REINFORCE++-baseline "
            "(`estimator: reinforce_pp_baseline` without `norm_return`)."
        ),
        check=check_double_normalization,
        example="algorithm:\n  estimator: grpo\n  norm_return: true\n",
        fixed_example="algorithm:\n  estimator: grpo\n  norm_return: false\n",
        references=("axon-rl/gem PR #113", "seed-pipeline.md §6"),
    ),
    Rule(
        id="GL002",
        name="group-too-small",
        severity="error",
        title="A group-relative estimator with fewer than 2 episodes per group",
        why=(
            "The baseline of a group-relative estimator comes from the other episodes of the group. With one "
            "episode per group the advantage is 0 (or the raw reward passes through with no baseline)."
        ),
        fix="Set `algorithm.group_size` to 2 or more (4–16 is typical).",
        check=check_group_too_small,
        example="algorithm:\n  group_size: 1\nrollout:\n  batch_size: 16\n",
        fixed_example="algorithm:\n  group_size: 8\nrollout:\n  batch_size: 128\n",
    ),
    Rule(
        id="GL003",
        name="greedy-group",
        severity="error",
        title="Greedy decoding with a group-relative estimator",
        why=(
            "At temperature 0 the G episodes from one initial state are identical, so every group ties and every "
            "advantage is 0: the run spends its compute and learns nothing."
        ),
        fix="Sample with a temperature around 1.0 for training (0.6–1.2); keep greedy decoding for evaluation.",
        check=check_greedy_group,
        example="rollout:\n  temperature: 0\n",
        fixed_example="rollout:\n  temperature: 1.0\n",
    ),
    Rule(
        id="GL004",
        name="half-drgrpo",
        severity="warning",
        title="Dr. GRPO done halfway",
        why=(
            "Dr. GRPO removes two biases of GRPO: the division by the group std and the per-sequence length "
            "normalization of the loss. Removing only one keeps the other: with per-sequence averaging long "
            "wrong answers are pushed down less per token and drift longer; with the std kept, rarely solved "
            "prompts get outsized weight."
        ),
        fix="Use `estimator: drgrpo` together with `loss_agg: seq_mean_token_sum` (token sum over a constant).",
        check=check_half_drgrpo,
        example="algorithm:\n  estimator: drgrpo\n  loss_agg: seq_mean_token_mean\n",
        fixed_example="algorithm:\n  estimator: drgrpo\n  loss_agg: seq_mean_token_sum\n",
    ),
    Rule(
        id="GL005",
        name="gamma-ignored",
        severity="warning",
        title="A discount the estimator never uses",
        why=(
            "Episode-level estimators (grpo, drgrpo, rloo, ep_level, reinforce_pp_baseline) give every step the "
            "episode's undiscounted return; only the per-step estimator `none` discounts. A gamma below 1 with "
            "them changes nothing, while the config reads as if later turns were discounted."
        ),
        fix="Set `algorithm.gamma: 1.0`, or use `estimator: none` if per-turn discounting is what you want.",
        check=check_gamma_ignored,
        example="algorithm:\n  estimator: grpo\n  gamma: 0.9\n",
        fixed_example="algorithm:\n  estimator: grpo\n  gamma: 1.0\n",
    ),
    Rule(
        id="GL006",
        name="group-split",
        severity="error",
        title="Batches or subsampling that split a group",
        why=(
            "Group statistics only mean something over a whole group. A batch size that is not a multiple of G "
            "puts part of a group in another batch; subsampling transitions at random after the advantages were "
            "computed leaves groups whose survivors no longer sum to zero, and any later statistic is computed "
            "on a random subset."
        ),
        fix="Make `rollout.batch_size` a multiple of `algorithm.group_size`; subsample whole groups or not at all.",
        check=check_group_split,
        example="algorithm:\n  group_size: 8\nrollout:\n  batch_size: 100\n",
        fixed_example="algorithm:\n  group_size: 8\nrollout:\n  batch_size: 96\n",
    ),
    Rule(
        id="GL007",
        name="kl-without-reference",
        severity="warning",
        title="KL with no reference policy, or KL applied twice",
        why=(
            "A KL term needs a reference policy; without one it measures nothing (AReaL substitutes zeros, which "
            "turns the 'KL' into an entropy bonus). KL both in the reward and in the loss applies the penalty "
            "twice through two different estimators."
        ),
        fix="Set `algorithm.reference: initial` or the coefficient to 0; keep KL in one place.",
        check=check_kl_without_reference,
        example="algorithm:\n  kl_coef: 0.05\n  reference: none\n",
        fixed_example="algorithm:\n  kl_coef: 0.05\n  reference: initial\n",
    ),
    Rule(
        id="GL008",
        name="std-eps-nonpositive",
        severity="error",
        title="Group std normalization with a non-positive epsilon",
        why=(
            "GRPO divides by (group std + eps). When every episode of a group gets the same reward the std is 0; "
            "with eps ≤ 0 that is 0/0 = NaN and the whole step's loss becomes NaN."
        ),
        fix="Keep `algorithm.std_eps` positive (the seed uses 1e-9; 1e-6 is common).",
        check=check_std_eps,
        example="algorithm:\n  estimator: grpo\n  std_eps: 0\n",
        fixed_example="algorithm:\n  estimator: grpo\n  std_eps: 1.0e-9\n",
    ),
]
