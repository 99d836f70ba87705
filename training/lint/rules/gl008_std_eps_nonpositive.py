"""GL008 std-eps-nonpositive: group std normalization with a non-positive epsilon."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules._fixes import theirs


def check(c: Concepts) -> list[Hit]:
    if not c.group_norm_std or c.std_eps is None or c.std_eps > 0:
        return []
    return [
        Hit(
            f"{c.key('std_eps')} is {c.std_eps:g} with group std normalization: a group whose rewards all tie "
            "divides 0 by 0 and the step's loss is NaN.",
            ("std_eps",),
            fix=theirs(c, f"keep {c.key('std_eps')} positive (1e-6 is common)"),
        )
    ]


RULE = Rule(
    id="GL008",
    name="std-eps-nonpositive",
    severity="error",
    title="Group std normalization with a non-positive epsilon",
    why=(
        "GRPO divides by (group std + eps). When every episode of a group gets the same reward the std is 0; "
        "with eps ≤ 0 that is 0/0 = NaN and the whole step's loss becomes NaN."
    ),
    fix="Keep `algorithm.std_eps` positive (the seed uses 1e-9; 1e-6 is common).",
    check=check,
    example="algorithm:\n  estimator: grpo\n  std_eps: 0\n",
    fixed_example="algorithm:\n  estimator: grpo\n  std_eps: 1.0e-9\n",
)
