"""GL038 truncation-not-masked: a "mask truncated" switch that only zeroes the reward, after normalization."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if not c.truncation_zero_reward_only:
        return []
    return [
        Hit(
            f"{c.key('truncation_zero_reward_only')} reads as excluding truncated answers from training, but the "
            "code sets their reward to 0 after the group normalization: their tokens stay in the loss (pushed "
            "towards advantage 0) and their scores were already counted in the group mean and std.",
            ("truncation_zero_reward_only",),
        )
    ]


RULE = Rule(
    id="GL038",
    name="truncation-not-masked",
    severity="info",
    title="A truncation switch that zeroes the reward instead of masking the tokens",
    why=(
        "AReaL's `actor.mask_no_eos_with_zero` is documented as masking truncated generations and excluding them "
        "from training. Its code replaces the (already normalized) reward of sequences without EOS by 0: the "
        "tokens still enter the loss and the group statistics of their siblings already include them. That is "
        "reward shaping, not masking; the difference matters when many answers hit the budget."
    ),
    fix=(
        "Treat it as shaping; to drop truncated answers, raise the budget (`gconfig.max_new_tokens`) or filter "
        "them in the reward function."
    ),
    check=check,
    example="# lint with: --input-format areal\ngconfig:\n  n_samples: 8\nactor:\n  mask_no_eos_with_zero: true\n",
    references=("inclusionAI/AReaL areal/trainer/ppo/actor.py (_compute_advantages)",),
)
