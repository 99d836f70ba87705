"""GL032 reward-clip-truncates: a reward clip that cuts real signal (before or after the group normalization)."""

from __future__ import annotations

import math

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    clip = c.reward_clip
    if clip is None or clip <= 0 or not c.policy_gradient:
        return []
    where = c.key("reward_clip")
    if c.reward_clip_stage == "after_norm" and c.group_norm_std:
        g = c.group_size
        top = (g - 1) / math.sqrt(g) if c.std_unbiased else math.sqrt(max(g - 1, 0))
        if g < 2 or clip >= top:
            return []  # a z-score never reaches the clip at this group size
        return [
            Hit(
                f"{where} = ±{clip:g} is applied after the group z-score, whose largest value at G = {g} is "
                f"{top:.2f} (one success in the group): that rarest, most informative sample is cut by "
                f"{1 - clip / top:.0%}.",
                ("reward_clip", "group_size"),
            )
        ]
    if c.reward_clip_stage == "after_norm" and c.reward_norm.std == "batch":
        # a batch z-score of pass/fail rewards: a success at batch success rate p has z = √((1 − p)/p)
        p = 1 / (1 + clip * clip)
        return [
            Hit(
                f"{where} = ±{clip:g} is applied after a batch z-score: a success scores above the clip whenever "
                f"fewer than {p:.0%} of the batch succeed, so the rare successes that matter most are flattened.",
                ("reward_clip",),
                severity="info",
            )
        ]
    if c.reward_kind == "binary" and clip >= 1:
        return []  # pass/fail rewards (and their mean-centred advantages) stay within ±1
    stage = {
        "raw": "the raw reward",
        "before_norm": "the reward before the group normalization",
        "after_norm": "the mean-centred reward (no std division)",
    }[c.reward_clip_stage]
    return [
        Hit(
            f"{where} clips {stage} at ±{clip:g}: scores of a reward model or judge beyond that tie at the clip "
            "and lose their ranking, silently.",
            ("reward_clip",),
            severity="warning" if c.reward_kind == "continuous" else "info",
        )
    ]


RULE = Rule(
    id="GL032",
    name="reward-clip-truncates",
    severity="warning",
    title="A reward clip narrower than the reward's scale",
    why=(
        "Frameworks clip rewards at a fixed bound by default: OpenRLHF at ±10 (after the group normalization for "
        "group_norm/dr_grpo/rloo/reinforce_baseline, on raw rewards for gae/reinforce), AReaL at ±20 before the "
        "normalization, ROLL when `reward_clip` is set. A continuous score beyond the clip ties with every other "
        "clipped score, so the ranking inside a group is lost without a word. After a group z-score the clip "
        "binds only for very large groups (z of one success = (G−1)/√G). Pass/fail rewards are never affected."
    ),
    fix=(
        "Rescale the reward into the clip range, or widen the clip: OpenRLHF `--reward.clip_range -100 100`; "
        "AReaL `actor.reward_clip`; ROLL `reward_clip`."
    ),
    check=check,
    example=(
        "# lint with: --input-format areal\ngconfig:\n  n_samples: 8\nactor:\n  reward_clip: 5.0\n"
        "  reward_norm:\n    mean_level: group\n    std_level: group\n    group_size: 8\nref: {}\n"
    ),
    references=(
        "OpenRLHF/OpenRLHF openrlhf/models/utils.py (compute_reward clamps the reward)",
        "inclusionAI/AReaL areal/trainer/ppo/actor.py (reward_clip before reward_norm)",
    ),
)
