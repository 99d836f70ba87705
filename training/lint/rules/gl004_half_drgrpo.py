"""GL004 half-drgrpo: dr. GRPO done halfway."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules._fixes import theirs


def check(c: Concepts) -> list[Hit]:
    hits = []
    if (c.estimator == "drgrpo" or c.no_std_requested) and c.loss_agg == "seq_mean_token_mean":
        hits.append(
            Hit(
                f"half of Dr. GRPO: the std division is gone ({c.key('estimator')}: {c.estimator}) but "
                f"{c.key('loss_agg')} still averages each episode's tokens (seq_mean_token_mean), so a long "
                "wrong answer gets 1/10 the per-token push of one 10× shorter and wrong answers drift longer.",
                ("loss_agg", "estimator"),
                fix=theirs(c, f"use a token sum over a constant ({c.key('loss_agg')}) with the std removed"),
            )
        )
    if c.loss_agg == "seq_mean_token_sum_norm" and c.group_norm_std:
        hits.append(
            Hit(
                f"half of Dr. GRPO: {c.key('loss_agg')} uses Dr. GRPO's constant normalizer but advantages are "
                f"still divided by the group std ({c.key('estimator')}: {c.estimator}), so a prompt solved once in "
                "16 weighs ~2× a 50/50 prompt.",
                ("loss_agg", "estimator"),
                fix=theirs(c, f"remove the group std division ({c.key('group_norm_std')}) as Dr. GRPO does")
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


RULE = Rule(
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
    fix=("Use `estimator: drgrpo` together with `loss_agg: seq_mean_token_sum` (token sum over a constant)."),
    check=check,
    example="algorithm:\n  estimator: drgrpo\n  loss_agg: seq_mean_token_mean\n",
    fixed_example="algorithm:\n  estimator: drgrpo\n  loss_agg: seq_mean_token_sum\n",
)
