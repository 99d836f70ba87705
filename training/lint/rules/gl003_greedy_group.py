"""GL003 greedy-group: greedy decoding with a group-relative estimator."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules._fixes import theirs


def check(c: Concepts) -> list[Hit]:
    if not c.group_relative:
        return []
    if c.greedy:
        return [
            Hit(
                f"{c.key('greedy')} decodes greedily with the group-relative estimator {c.estimator}: the "
                f"{c.group_size} episodes of a group coincide, every group ties and every advantage is 0.",
                ("greedy",),
                fix=theirs(c, f"sample for training ({c.key('greedy')} on, temperature ≈ 1.0)"),
            )
        ]
    if c.temperature == 0:
        return [
            Hit(
                f"{c.key('temperature')} is 0 (greedy) with the group-relative estimator {c.estimator}: the "
                f"{c.group_size} episodes of a group coincide, every group ties and every advantage is 0.",
                ("temperature",),
                fix=theirs(
                    c, f"set {c.key('temperature')} to about 1.0 for training; keep greedy for evaluation"
                ),
            )
        ]
    return []


RULE = Rule(
    id="GL003",
    name="greedy-group",
    severity="error",
    title="Greedy decoding with a group-relative estimator",
    why=(
        "At temperature 0 the G episodes from one initial state are identical, so every group ties and every "
        "advantage is 0: the run spends its compute and learns nothing."
    ),
    fix=("Sample with a temperature around 1.0 for training (0.6–1.2); keep greedy decoding for evaluation."),
    check=check,
    example="rollout:\n  temperature: 0\n",
    fixed_example="rollout:\n  temperature: 1.0\n",
)
