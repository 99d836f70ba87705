"""Checks of GL009–GL025 (the rule table with ids, severities and texts is in `extended.py`).

Each check reads concepts only. Framework knowledge (which flag a framework ignores, which whitening is part of
a published estimator) lives in the adapters, which express it as concept values.
"""

from __future__ import annotations

import math

from training.lint.concepts import Concepts
from training.lint.findings import Hit

# estimators that carry their own baseline (a critic, a greedy/optimal baseline, or whitening); rloo's is its
# leave-one-out group mean, so it counts only with `group_mean` (a singleton group has none)
_HAS_BASELINE = frozenset(
    {"gae", "remax", "opo", "gpg", "reinforce_pp", "reinforce_pp_baseline", "rebn", "other"}
)


# how each framework really drops the group std (GL009's fix, in the file's own keys)
_NO_STD_FIX = {
    "roll": "`adv_estimator: reinforce` with `norm_mean_type: group` and `norm_std_type: null` (grpo forces both to "
    "group in the RLVR pipeline)",
    "openrlhf": "`--advantage_estimator dr_grpo` (`--no_advantage_std_norm` never touches group_norm)",
    "trl": "`multi_objective_aggregation: sum_then_normalize` with `scale_rewards: none` (normalize_then_sum always "
    "divides each reward by its group std)",
}


def check_no_std_flag_ignored(c: Concepts) -> list[Hit]:
    if not c.no_std_requested:
        return []
    if c.group_norm_std:
        return [
            Hit(
                f"{c.key('no_std_requested')} asks for advantages without the std division, but "
                f"{c.key('estimator')}: {c.estimator} still divides every group by its std: you run GRPO, with "
                "its difficulty bias (a prompt solved 1 time in 16, std ≈ 0.24, weighs ~2× a 50/50 prompt).",
                ("no_std_requested", "estimator"),
                fix=_NO_STD_FIX.get(c.framework),
            )
        ]
    if c.no_std_unused:
        return [
            Hit(
                f"{c.key('no_std_requested')} has no effect with {c.key('estimator')}: {c.estimator}, which "
                "never divides by a group std.",
                ("no_std_requested", "estimator"),
                severity="info",
                fix="remove the flag",
            )
        ]
    return []


def check_k1_kl_as_loss(c: Concepts) -> list[Hit]:
    if not (c.kl_in_loss and c.kl_loss_coef > 0 and c.kl_estimator == "k1"):
        return []
    return [
        Hit(
            f"{c.key('kl_estimator')} is k1 while KL is a loss term ({c.key('kl_loss_coef')} = "
            f"{c.kl_loss_coef:g}): the gradient of k1 = log π − log π_ref has zero expectation on-policy, so "
            "the penalty regularizes almost nothing while the logged KL looks active.",
            ("kl_estimator", "kl_loss_coef"),
            fix=f"set {c.key('kl_estimator')} to k3 (verl `low_var_kl`) or k2 (verl `mse`)"
            if c.framework != "grpolab"
            else None,
        )
    ]


def check_token_reward_whitening(c: Concepts) -> list[Hit]:
    if not c.token_reward_whiten:
        return []
    return [
        Hit(
            f"{c.key('token_reward_whiten')} whitens token-level rewards of an outcome reward: the zeros on every "
            "token but the last become −μ/σ, so returns grow with length (a 1,000-token answer collects ~10× "
            "the offset of a 100-token one) and drown the outcome signal.",
            ("token_reward_whiten",),
        )
    ]


def check_norm_group_size(c: Concepts) -> list[Hit]:
    if c.norm_group_size is None or c.norm_group_size == c.group_size:
        return []
    if c.norm_group_size == 1:
        effect = "every reward is its own group, so its group mean is itself and every advantage is 0"
    else:
        effect = (
            f"the normalizer's groups of {c.norm_group_size} straddle prompts (or cut them), so baselines mix "
            "rewards of different prompts"
        )
    return [
        Hit(
            f"{c.key('norm_group_size')} is {c.norm_group_size} but {c.key('group_size')} samples "
            f"{c.group_size} per prompt: {effect}.",
            ("norm_group_size", "group_size"),
        )
    ]


def check_std_eps_amplification(c: Concepts) -> list[Hit]:
    eps = c.std_eps
    if not (c.group_norm_std and c.reward_kind == "continuous" and eps is not None and eps < 1e-3):
        return []
    if c.zero_variance_filter:
        return []
    return [
        Hit(
            f"group std normalization with a continuous reward ({c.key('reward_kind')}) and a std epsilon of "
            f"{eps:g} ({c.key('std_eps')}): a group whose scores differ only by noise (std 1e-4) is divided by "
            f"1e-4 + {eps:g} and comes out at ±{1e-4 / (1e-4 + eps):.2f}, the weight of a real difference.",
            ("reward_kind", "std_eps"),
        )
    ]


def check_small_group_binary(c: Concepts) -> list[Hit]:
    g = c.group_size
    if not (c.group_relative and c.reward_kind == "binary" and g in (2, 3, 4)):
        return []
    tie = 2 * 0.5**g
    return [
        Hit(
            f"{c.key('group_size')} is {g} with a pass/fail reward: at a 50% success rate {tie:.1%} of groups "
            f"tie (at 90%, {0.9**g + 0.1**g:.0%}) and contribute no gradient.",
            ("group_size",),
            severity="info" if g == 4 else None,
            fix=f"raise {c.key('group_size')} to 8 or more, or drop tied groups (dynamic sampling)"
            if c.framework != "grpolab"
            else None,
        )
    ]


def check_advantage_clip(c: Concepts) -> list[Hit]:
    g, clip = c.group_size, c.advantage_clip
    if clip is None or not c.group_norm_std or g < 2:
        return []
    bound = (g - 1) / math.sqrt(g) if c.std_unbiased else math.sqrt(g - 1)
    if clip >= bound:
        return []
    # which pass/fail mixes (k successes in G) have some |z| above the clip
    cut = [k for k in range(1, g) if _largest_z(k, g, c.std_unbiased) > clip]
    if cut == [1, g - 1] or len(cut) <= 2:
        scope = f"only groups with a single success (or a single failure) are cut, by up to {1 - clip / bound:.0%}"
    else:
        scope = (
            f"and it is not only that sample: {len(cut)} of the {g - 1} possible pass/fail mixes of a group have a "
            f"z-score beyond ±{clip:g} and are flattened too"
        )
    return [
        Hit(
            f"{c.key('advantage_clip')} = {clip:g} is below {bound:.2f}, the z-score of a single success in a "
            f"group of {g}: the rarest, most informative sample is cut by {1 - clip / bound:.0%}; {scope}.",
            ("advantage_clip", "group_size"),
            fix=f"raise {c.key('advantage_clip')} above {bound:.2f} or remove it",
        )
    ]


def _largest_z(k: int, g: int, unbiased: bool) -> float:
    """The largest |z-score| in a group of g pass/fail rewards with k successes."""
    p = k / g
    var = p * (1 - p) * (g / (g - 1) if unbiased else 1.0)
    return max(1 - p, p) / math.sqrt(var)


def check_clip_range(c: Concepts) -> list[Hit]:
    lo, hi, dual = c.clip_low, c.clip_high, c.clip_dual
    problems = []
    if lo is not None and (lo <= 0 or lo >= 1):
        problems.append((f"{c.key('clip_low')} = {lo:g} (ratio floor 1 − {lo:g} = {1 - lo:g})", "clip_low"))
    if hi is not None and hi <= 0:
        problems.append(
            (f"{c.key('clip_high')} = {hi:g} freezes every update that raises a probability", "clip_high")
        )
    if lo is not None and hi is not None and 0 < hi < lo:
        where = (
            f"({c.key('clip_high')})"
            if c.key("clip_high") == c.key("clip_low")
            else f"({c.key('clip_high')} vs {c.key('clip_low')})"
        )
        problems.append(
            (
                f"the upper clip {hi:g} is below the lower clip {lo:g} {where}: exploration is clipped harder "
                "than exploitation, the opposite of clip-higher",
                "clip_high",
            )
        )
    if dual is not None and dual <= 1:
        problems.append((f"{c.key('clip_dual')} = {dual:g} must be > 1 for dual clipping", "clip_dual"))
    fix = (
        f"use e.g. 0.2 below and 0.2–0.28 above ({c.key('clip_low')}, {c.key('clip_high')}); a dual clip above 1"
        if c.framework != "grpolab"
        else None
    )
    return [Hit(f"suspicious PPO clip range: {msg}.", (concept,), fix=fix) for msg, concept in problems]


def check_logprob_temperature(c: Concepts) -> list[Hit]:
    t = c.logprob_temperature
    if t is None or c.greedy or math.isclose(t, c.temperature):
        return []
    return [
        Hit(
            f"{c.key('logprob_temperature')} = {t:g} scales the logits in training but "
            f"{c.key('temperature')} = {c.temperature:g} sampled the rollout: the importance ratio compares two "
            "different distributions, so even the first update is off-policy.",
            ("logprob_temperature", "temperature"),
            fix=f"make {c.key('logprob_temperature')} equal to {c.key('temperature')} (or leave it unset where "
            "the framework copies the sampler's)",
        )
    ]


def check_kl_in_reward_group_std(c: Concepts) -> list[Hit]:
    if not (c.kl_in_reward and c.kl_reward_coef > 0 and c.group_norm_std):
        return []
    if c.kl_after_norm:
        # OpenRLHF, AReaL and ROLL add the per-token KL to the z-scored reward: not divided, summed along the answer
        return [
            Hit(
                f"a KL penalty in the reward ({c.key('kl_reward_coef')} = {c.kl_reward_coef:g}) is added per token "
                f"after {c.framework} z-scores the score, then summed into the returns: a token's advantage is its "
                "answer's z-score minus the KL of every later token, so long answers get more negative early "
                "tokens, and the penalty's weight against a unit-variance z-score is set by the answer length.",
                ("kl_reward_coef", "estimator"),
                fix=(
                    "keep KL in the loss for group estimators (OpenRLHF `--algo.kl.use_loss` with k3; ROLL "
                    "`use_kl_loss: true` and `add_token_level_kl: false`; AReaL has no KL loss: lower `actor.kl_ctl`)"
                ),
            )
        ]
    return [
        Hit(
            f"a KL penalty in the reward ({c.key('kl_reward_coef')} = {c.kl_reward_coef:g}) is divided by the "
            "group std with the score: its strength changes per prompt (×4 in a group with std 0.25 vs 1).",
            ("kl_reward_coef", "estimator"),
        )
    ]


def check_ineffective(c: Concepts) -> list[Hit]:
    return [
        Hit(f"{key} has no effect: {why}.", (f"dead:{key}",), fix="remove it or turn on the switch it needs")
        for key, why in c.dead_keys
    ]


def check_redundant_whitening(c: Concepts) -> list[Hit]:
    w = c.batch_whitening
    if not (w.intrinsic and w.extra):
        return []
    return [
        Hit(
            f"{c.key('estimator')}: {c.estimator} already whitens advantages over the batch and "
            f"{c.key('batch_whitening')} whitens them again with other masks/statistics: the result is close to, "
            "but not exactly, unit variance.",
            ("batch_whitening", "estimator"),
        )
    ]


def check_no_baseline(c: Concepts) -> list[Hit]:
    if c.group_mean or c.estimator in _HAS_BASELINE or c.batch_whitening.mean or c.reward_norm.mean != "none":
        return []
    return [
        Hit(
            f"{c.key('estimator')}: {c.estimator} has no baseline here (no group mean, critic or batch mean): with "
            f"0/1 rewards every sample of a failed batch is pushed down by its raw value; the variance is ~"
            f"{max(c.group_size, 2)}× that of a group baseline.",
            ("estimator", "group_size"),
        )
    ]


def check_drgrpo_aggregation(c: Concepts) -> list[Hit]:
    if c.estimator != "drgrpo" or c.length_norm_available:
        return []
    return [
        Hit(
            f"{c.key('estimator')}: drgrpo in {c.framework}, which has no constant-normalizer loss: what runs is "
            "Dr. GRPO advantages with a token-mean loss, not the paper's length-unbiased estimator.",
            ("estimator",),
        )
    ]


def check_local_token_mean(c: Concepts) -> list[Hit]:
    if c.loss_agg != "token_mean_local":
        return []
    return [
        Hit(
            f"{c.key('loss_agg')} normalizes by the tokens of each device's micro-batch: the gradient depends "
            "on the per-device batch size even at an equal global batch.",
            ("loss_agg",),
            fix={
                "skyrl": "`trainer.algorithm.loss_reduction: token_mean` (a mini-batch token mean since 2026-03-31)",
                "trl": "`loss_type: dapo` (token mean over the global batch)",
            }.get(c.framework),
        )
    ]


def check_greedy_eval_group(c: Concepts) -> list[Hit]:
    n = c.eval_group_size
    if not (c.eval_greedy and n is not None and n > 1):
        return []
    return [
        Hit(
            f"evaluation decodes greedily and samples {n} per prompt ({c.key('eval_group_size')}): the {n} "
            f"samples are identical, pass@{n} equals pass@1 and costs {n}×.",
            ("eval_group_size", "eval_greedy"),
        )
    ]


def check_token_level_discount(c: Concepts) -> list[Hit]:
    if not (c.gamma_per_token and c.gamma < 1):
        return []
    return [
        Hit(
            f"{c.key('gamma')} = {c.gamma:g} discounts per token a reward that sits on the last token: the first "
            f"token of a 1,000-token answer sees {c.gamma**1000:.1e} of it, so the start of every answer stops "
            "learning.",
            ("gamma", "estimator"),
            fix=f"set {c.key('gamma')} to 1.0 for token-level returns; discount per turn instead",
        )
    ]
