"""GL002 group-too-small: a group-relative estimator with fewer than 2 episodes per group."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules._fixes import theirs


def check(c: Concepts) -> list[Hit]:
    if not c.group_relative or c.group_size >= 2:
        return []
    # what a group of one computes depends on the framework: ours subtracts the episode's own return (0);
    # verl gives a singleton group mean 0 and std 1, so the raw score passes through (the adapter says so
    # by leaving `group_mean` off)
    effect = (
        "so every advantage is 0 and nothing is learned"
        if c.group_mean
        else f"so the raw reward passes through with no baseline: plain REINFORCE, not {c.estimator}"
    )
    return [
        Hit(
            f"{c.key('group_size')} is {c.group_size} with the group-relative estimator {c.estimator}: a group of "
            f"one has no other episode to compare with, {effect}.",
            ("group_size", "estimator"),
            fix=theirs(c, f"set {c.key('group_size')} to 2 or more (4–16 is typical)"),
        )
    ]


RULE = Rule(
    id="GL002",
    name="group-too-small",
    severity="error",
    title="A group-relative estimator with fewer than 2 episodes per group",
    why=(
        "The baseline of a group-relative estimator comes from the other episodes of the group. With one "
        "episode per group the advantage is 0 (or the raw reward passes through with no baseline)."
    ),
    fix="Set `algorithm.group_size` to 2 or more (4–16 is typical).",
    check=check,
    example="algorithm:\n  group_size: 1\nrollout:\n  batch_size: 16\n",
    fixed_example="algorithm:\n  group_size: 8\nrollout:\n  batch_size: 128\n",
)
