"""GL012 norm-group-size-mismatch: the normalizer's group size differs from the samples per prompt."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
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


RULE = Rule(
    id="GL012",
    name="norm-group-size-mismatch",
    severity="error",
    title="The normalizer's group size differs from the samples per prompt",
    why=(
        "A group-level normalizer reshapes rewards into groups of its own `group_size`. AReaL's default is "
        "1: every reward is then its own group mean and every advantage is 0. A wrong size (8 vs 4) makes "
        "groups straddle two prompts."
    ),
    fix="AReaL: write `group_size: ${gconfig.n_samples}` in `actor.reward_norm` and `actor.adv_norm`.",
    check=check,
    references=(
        "inclusionAI/AReaL areal/api/cli_args.py (NormConfig.group_size)",
        "docs/frameworks/areal.md",
    ),
)
