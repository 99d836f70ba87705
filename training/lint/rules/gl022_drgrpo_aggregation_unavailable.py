"""GL022 drgrpo-aggregation-unavailable: dr. GRPO advantages without Dr. GRPO's loss."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if c.estimator != "drgrpo" or c.length_norm_available:
        return []
    return [
        Hit(
            f"{c.key('estimator')}: drgrpo in {c.framework}, which has no constant-normalizer loss: what runs is "
            "Dr. GRPO advantages with a token-mean loss, not the paper's length-unbiased estimator.",
            ("estimator",),
        )
    ]


RULE = Rule(
    id="GL022",
    name="drgrpo-aggregation-unavailable",
    severity="info",
    title="Dr. GRPO advantages without Dr. GRPO's loss",
    why=(
        "The framework has no constant-normalizer loss, so `drgrpo` there means group-mean advantages with a "
        "token-mean loss: a fine estimator, but not the paper's length-unbiased one."
    ),
    fix="Document it; use a framework with a constant normalizer if the length-bias fix matters.",
    check=check,
    references=(
        "OpenRLHF/OpenRLHF openrlhf/models/loss.py",
        "docs/frameworks/openrlhf.md",
        "docs/frameworks/areal.md",
    ),
)
