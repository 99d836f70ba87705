"""GL005 gamma-ignored: a discount the estimator never uses."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules._fixes import theirs


def check(c: Concepts) -> list[Hit]:
    if c.gamma == 1 or c.gamma_used_by_estimator:
        return []
    return [
        Hit(
            f"{c.key('gamma')} is {c.gamma:g} but the estimator {c.estimator} sums rewards undiscounted: "
            "the discount changes nothing.",
            ("gamma", "estimator"),
            fix=theirs(c, f"set {c.key('gamma')} to 1.0, or pick an estimator that discounts"),
        )
    ]


RULE = Rule(
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
    check=check,
    example="algorithm:\n  estimator: grpo\n  gamma: 0.9\n",
    fixed_example="algorithm:\n  estimator: grpo\n  gamma: 1.0\n",
)
