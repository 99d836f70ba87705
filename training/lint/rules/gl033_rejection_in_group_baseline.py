"""GL033 rejection-in-group-baseline: rows rejected by the rollout-correction filter still set their group's
baseline."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if not (c.rejection_sampling and c.rejection_keeps_baseline and c.group_relative):
        return []
    return [
        Hit(
            f"{c.key('rejection_sampling')} drops responses whose sampler/trainer mismatch is too large, but only "
            f"from the loss: with the group estimator {c.estimator} their rewards were already in the group mean "
            "(and std), so a rejected response still shifts its siblings' advantages (a quiet advantage leak).",
            ("rejection_sampling", "estimator"),
        )
    ]


RULE = Rule(
    id="GL033",
    name="rejection-in-group-baseline",
    severity="warning",
    title="Rejection sampling that leaves rejected responses in the group baseline",
    why=(
        "verl's `algorithm.rollout_correction.rollout_rs` masks responses whose importance ratio is out of bounds. "
        "The mask is applied in the loss, after the advantages were computed, so with a group estimator (grpo, "
        "rloo, …) a rejected response's reward still enters the group mean and std of the responses that are "
        "trained: their advantages move because of a sample the run decided not to trust. verl PR #6452 (open) "
        "proposes excluding rejected rows from the baseline."
    ),
    fix=(
        "Prefer the IS weight (`rollout_is`) to rejection with group estimators, or filter whole groups; once "
        "verl PR #6452 lands, run a version that excludes rejected rows from the baseline."
    ),
    check=check,
    example=(
        "# lint with: --input-format verl\nalgorithm:\n  adv_estimator: grpo\n  rollout_correction:\n"
        "    rollout_rs: token\nactor_rollout_ref:\n  rollout:\n    n: 8\n"
    ),
    fixed_example=(
        "# lint with: --input-format verl\nalgorithm:\n  adv_estimator: grpo\n  rollout_correction:\n"
        "    rollout_is: token\nactor_rollout_ref:\n  rollout:\n    n: 8\n"
    ),
    references=("verl-project/verl#6452", "verl-project/verl docs/algo/rollout_corr.md"),
)
