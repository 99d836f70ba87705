"""GL037 version-sensitive-key: a key whose default or meaning changed between framework versions."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    return [
        Hit(f"{key}: {both}", (f"version:{key}",), fix="pin the framework version, or set the key explicitly")
        for key, both in c.version_notes
    ]


RULE = Rule(
    id="GL037",
    name="version-sensitive-key",
    severity="info",
    title="A key whose default or meaning changed between framework versions",
    why=(
        "The same config means different things on different versions: SkyRL's `loss_reduction: token_mean` was a "
        "mean of micro-batch means until 2026-03-31 and is a mini-batch token mean since; TRL's "
        "`max_completion_length` default went from 256 to 512 and the `mask_truncated_completions` denominator "
        "was fixed (2026-07); verl's `rollout.calculate_log_probs` became true; SkyRL's CISPO bounds became "
        "offsets; AReaL's staleness filter became opt-in. The finding names both behaviours and the version the "
        "linter assumed (`--framework-version` sets it)."
    ),
    fix="Pin the framework version in your environment and pass it with `--framework-version`, or write the key.",
    check=check,
    example=(
        "# lint with: --input-format skyrl\ntrainer:\n  algorithm:\n    loss_reduction: token_mean\n"
        "generator:\n  n_samples_per_prompt: 8\n"
    ),
    references=(
        "NovaSky-AI/SkyRL#1296",
        "huggingface/trl#6264",
        "huggingface/trl#6439",
        "NovaSky-AI/SkyRL#1928",
    ),
)
