"""GL011 token-reward-whitening: token-level rewards whitened under an outcome reward."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if not c.token_reward_whiten:
        return []
    return [
        Hit(
            f"{c.key('token_reward_whiten')} whitens token-level rewards of an outcome reward: the zeros on every "
            "token but the last become −μ/σ, so returns grow with length (a 1,000-token answer collects ~10× "
            "the offset of a 100-token one) and drown the outcome signal.",
            ("token_reward_whiten",),
        )
    ]


RULE = Rule(
    id="GL011",
    name="token-reward-whitening",
    severity="error",
    title="Token-level rewards whitened under an outcome reward",
    why=(
        "With an outcome reward every token but the last has reward 0. Whitening the token rewards turns "
        "those zeros into −μ/σ on every token, so returns become proportional to response length and the "
        "length term overwhelms the outcome signal."
    ),
    fix="Whiten advantages (once), not token rewards: ROLL `whiten_rewards: false`.",
    check=check,
    references=(
        "alibaba/ROLL roll/utils/functionals.py (compute_advantage)",
        "docs/frameworks/roll.md",
    ),
)
