"""GL013 std-eps-amplification: group std normalization blows up near-tied continuous rewards."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    eps = c.std_eps
    if not (c.group_norm_std and c.reward_kind == "continuous" and eps is not None and eps < 1e-3):
        return []
    if c.zero_variance_filter:
        return []
    return [
        Hit(
            f"group std normalization with a continuous reward ({c.key('reward_kind')}) and a std epsilon of "
            f"{eps:g} ({c.key('std_eps')}): a group whose scores differ only by noise (std 1e-4) is divided by "
            f"1e-4 + {eps:g} and comes out at ±{1e-4 / (1e-4 + eps):.2f}, the weight of a real difference.",
            ("reward_kind", "std_eps"),
        )
    ]


RULE = Rule(
    id="GL013",
    name="std-eps-amplification",
    severity="warning",
    title="Group std normalization blows up near-tied continuous rewards",
    why=(
        "With a reward model or judge, a group's scores can differ only by noise (std 1e-4). Dividing by "
        "that std (plus a tiny epsilon) scales the noise up to ±1, so it gets the same weight as a real "
        "difference."
    ),
    fix="Drop the std (Dr. GRPO), floor it (eps ≥ 1e-3), or enable a zero-variance filter.",
    check=check,
    references=(
        "NVIDIA-NeMo/RL#4161",
        "NovaSky-AI/SkyRL zero_variance_filter_tol",
        "docs/frameworks/verl.md",
        "docs/frameworks/openrlhf.md",
        "docs/frameworks/skyrl.md",
    ),
)
