"""GL025 token-level-discount: a per-token discount on a response-level reward."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if not (c.gamma_per_token and c.gamma < 1):
        return []
    return [
        Hit(
            f"{c.key('gamma')} = {c.gamma:g} discounts per token a reward that sits on the last token: the first "
            f"token of a 1,000-token answer sees {c.gamma**1000:.1e} of it, so the start of every answer stops "
            "learning.",
            ("gamma", "estimator"),
            fix=f"set {c.key('gamma')} to 1.0 for token-level returns; discount per turn instead",
        )
    ]


RULE = Rule(
    id="GL025",
    name="token-level-discount",
    severity="warning",
    title="A per-token discount on a response-level reward",
    why=(
        "The outcome reward sits on the last token. Discounting per token makes the first token of a "
        "1,000-token answer see 0.99¹⁰⁰⁰ ≈ 4e-5 of it, so the start of every answer stops learning. Per-turn "
        "discounting (GEM's `critic_type2 none`, our `estimator: none`) is not affected."
    ),
    fix="Use gamma 1.0 for token-level returns; discount per turn instead.",
    check=check,
    references=(
        "alibaba/ROLL roll/utils/functionals.py",
        "volcengine/verl core_algos.py",
        "docs/frameworks/verl.md",
        "docs/frameworks/roll.md",
        "docs/frameworks/skyrl.md",
        "docs/frameworks/areal.md",
    ),
)
