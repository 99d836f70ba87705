"""GL020 redundant-whitening: whitening twice: the estimator's own pass and a switch."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    w = c.batch_whitening
    if not (w.intrinsic and w.extra):
        return []
    return [
        Hit(
            f"{c.key('estimator')}: {c.estimator} already whitens advantages over the batch and "
            f"{c.key('batch_whitening')} whitens them again with other masks/statistics: the result is close to, "
            "but not exactly, unit variance.",
            ("batch_whitening", "estimator"),
        )
    ]


RULE = Rule(
    id="GL020",
    name="redundant-whitening",
    severity="info",
    title="Whitening twice: the estimator's own pass and a switch",
    why=(
        "REINFORCE++ already whitens advantages over the batch; a second whitening switch is nearly "
        "idempotent but uses other masks and statistics, so the result is not exactly unit variance and the "
        "config is harder to read."
    ),
    fix="Keep one: SkyRL `advantage_batch_normalize: false` with `reinforce++`.",
    check=check,
    references=(
        "NovaSky-AI/SkyRL ppo_utils.py + trainer.py",
        "docs/frameworks/skyrl.md",
    ),
)
