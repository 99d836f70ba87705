"""GL009 no-std-flag-ignored: a 'no std' request that the computation ignores."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule

# how each framework really drops the group std (GL009's fix, in the file's own keys)
_NO_STD_FIX = {
    "roll": "`adv_estimator: reinforce` with `norm_mean_type: group` and `norm_std_type: null` (grpo forces both to "
    "group in the RLVR pipeline)",
    "openrlhf": "`--advantage_estimator dr_grpo` (`--no_advantage_std_norm` never touches group_norm)",
    "trl": "`multi_objective_aggregation: sum_then_normalize` with `scale_rewards: none` (normalize_then_sum always "
    "divides each reward by its group std)",
}


def check(c: Concepts) -> list[Hit]:
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


RULE = Rule(
    id="GL009",
    name="no-std-flag-ignored",
    severity="error",
    title="A 'no std' request that the computation ignores",
    why=(
        "The user asked for advantages without the group-std division (the Dr. GRPO fix), but the framework "
        "still divides by the group std: ROLL overwrites the norm types with `group` for `adv_estimator: "
        "grpo`; OpenRLHF's `no_advantage_std_norm` only affects the batch whitening of "
        "gae/reinforce/reinforce_baseline, never `group_norm`. The run is GRPO with its difficulty bias "
        "while its config reads as Dr. GRPO. Where the flag merely has no counterpart (verl "
        "`norm_adv_by_std_in_grpo: false` with rloo or gae) it is info."
    ),
    fix=(
        "ROLL: `adv_estimator: reinforce` + `norm_mean_type: group` + `norm_std_type: null`; OpenRLHF: "
        "`--advantage_estimator dr_grpo`. See docs/frameworks/ for each framework's spelling."
    ),
    check=check,
    references=(
        "alibaba/ROLL roll/utils/functionals.py (reward_postprocess)",
        "OpenRLHF/OpenRLHF#924",
        "docs/frameworks/roll.md",
        "docs/frameworks/openrlhf.md",
        "docs/frameworks/verl.md",
    ),
)
