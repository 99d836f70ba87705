"""GL023 local-token-mean: loss normalized by each device's own token count."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if c.loss_agg != "token_mean_local":
        return []
    return [
        Hit(
            f"{c.key('loss_agg')} normalizes by the tokens of each device's micro-batch: the gradient depends "
            "on the per-device batch size even at an equal global batch.",
            ("loss_agg",),
            fix={
                "skyrl": "`trainer.algorithm.loss_reduction: token_mean` (a mini-batch token mean since 2026-03-31)",
                "trl": "`loss_type: dapo` (token mean over the global batch)",
            }.get(c.framework),
        )
    ]


RULE = Rule(
    id="GL023",
    name="local-token-mean",
    severity="info",
    title="Loss normalized by each device's own token count",
    why=(
        "Dividing by the tokens of each device's micro-batch makes the gradient depend on the per-device "
        "batch size even at equal global batch: devices with short answers weigh each token more. TRL's "
        "`bnpo` does this, and so does SkyRL's `token_mean_legacy` (a mean of micro-batch means, which was "
        "`token_mean` until 2026-03-31)."
    ),
    fix=(
        "TRL: `loss_type: dapo` (token mean over the global batch); SkyRL: `loss_reduction: token_mean` "
        "instead of `token_mean_legacy` (or on SkyRL before 2026-03-31, upgrade)."
    ),
    check=check,
    references=(
        "huggingface/trl grpo_config.py (loss_type)",
        "huggingface/trl#3256",
        "docs/frameworks/trl.md",
        "docs/frameworks/skyrl.md",
    ),
)
