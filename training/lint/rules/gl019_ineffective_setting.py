"""GL019 ineffective-setting: a setting that has no effect in this framework."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    return [
        Hit(f"{key} has no effect: {why}.", (f"dead:{key}",), fix="remove it or turn on the switch it needs")
        for key, why in c.dead_keys
    ]


RULE = Rule(
    id="GL019",
    name="ineffective-setting",
    severity="info",
    title="A setting that has no effect in this framework",
    why=(
        "The framework reads the key only when another switch is on, or not at all (an unknown key dropped "
        "by a non-strict loader, a flag declared but never read). The config reads as if a normalization or "
        "regularizer were active."
    ),
    fix="Remove the key, or turn on the switch it needs.",
    check=check,
    references=(
        "sail-sg/oat oat/algorithms/ppo.py (whiten_rewards)",
        "OpenRLHF/OpenRLHF#693",
        "docs/frameworks/oat.md",
        "docs/frameworks/openrlhf.md",
        "docs/frameworks/roll.md",
        "docs/frameworks/verl.md",
        "docs/frameworks/skyrl.md",
        "docs/frameworks/trl.md",
    ),
)
