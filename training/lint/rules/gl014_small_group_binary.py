"""GL014 small-group-binary: groups of 2–4 with a pass/fail reward."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
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


RULE = Rule(
    id="GL014",
    name="small-group-binary",
    severity="warning",
    title="Groups of 2–4 with a pass/fail reward",
    why=(
        "A group ties with probability pᴳ + (1−p)ᴳ: at p = 0.5 that is 50% of prompts for G = 2, 25% for G = "
        "3, 12.5% for G = 4 (info). Tied groups contribute no gradient, so most of the compute is wasted."
    ),
    fix="Use G ≥ 8 for pass/fail rewards, or dynamic sampling that drops tied groups.",
    check=check,
    references=(
        "huggingface/trl#3857",
        "huggingface/trl#3452",
        "docs/frameworks/verl.md",
    ),
)
