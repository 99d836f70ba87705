"""GL017 logprob-temperature-mismatch: training log-probs at another temperature than the rollout."""

from __future__ import annotations

import math

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    t = c.logprob_temperature
    if t is None or c.greedy or math.isclose(t, c.temperature):
        return []
    return [
        Hit(
            f"{c.key('logprob_temperature')} = {t:g} scales the logits in training but "
            f"{c.key('temperature')} = {c.temperature:g} sampled the rollout: the importance ratio compares two "
            "different distributions, so even the first update is off-policy.",
            ("logprob_temperature", "temperature"),
            fix=f"make {c.key('logprob_temperature')} equal to {c.key('temperature')} (or leave it unset where "
            "the framework copies the sampler's)",
        )
    ]


RULE = Rule(
    id="GL017",
    name="logprob-temperature-mismatch",
    severity="warning",
    title="Training log-probs at another temperature than the rollout",
    why=(
        "The importance ratio compares the policy's log-probs in training with those of the sampler. If "
        "training scales the logits by another temperature, the two are different distributions: even the "
        "first update is off-policy and clipping fires at random."
    ),
    fix=(
        "Leave the training temperature unset (SkyRL copies the sampler's) or interpolate it (AReaL "
        "`actor.temperature: ${gconfig.temperature}`)."
    ),
    check=check,
    references=(
        "NovaSky-AI/SkyRL skyrl/train/config/config.py",
        "docs/frameworks/skyrl.md",
        "docs/frameworks/areal.md",
    ),
)
