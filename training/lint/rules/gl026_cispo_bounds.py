"""GL026 cispo-bounds: CISPO's importance-weight bounds that cap every weight below 1, or are PPO-sized."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule

# ScaleRL's CISPO keeps every token's gradient and only caps its detached IS weight to about [0, 5]
_WIDE_LOW, _WIDE_HIGH = 0.5, 2.0


def check(c: Concepts) -> list[Hit]:
    if c.policy_loss != "cispo" or c.is_weight_bounds is None:
        return []
    low, high = c.is_weight_bounds
    where = c.key("is_weight_bounds")
    if high < 1:
        return [
            Hit(
                f"CISPO caps the detached importance weight at {high:g} ({where}): on-policy the ratio is ≈ 1, so "
                f"every token's weight is clamped to {high:g}. The update is plain REINFORCE scaled by {high:g}, "
                "with no importance correction left at all.",
                ("is_weight_bounds", "policy_loss"),
            )
        ]
    if low >= 1 and high >= _WIDE_HIGH:
        return [
            Hit(
                f"CISPO weight bounds [{low:g}, {high:g}] ({where}) start at {low:g}: a token the updated policy has "
                f"made less likely (ratio < 1) is weighted {low:g} anyway, so its importance correction is lost on "
                "that whole side (a lower clip of 0 on a 1 − low bound means a floor of 1, not no floor). The "
                "published recipe (ScaleRL) bounds the weight to about [0, 5].",
                ("is_weight_bounds", "policy_loss"),
                severity="warning",
            )
        ]
    if high < _WIDE_HIGH or low > _WIDE_LOW:
        return [
            Hit(
                f"CISPO weight bounds [{max(low, 0.0):g}, {high:g}] ({where}) are PPO-sized: tokens whose ratio "
                "leaves that band keep their gradient but lose their importance correction. The published recipe "
                "(ScaleRL) bounds the weight to about [0, 5].",
                ("is_weight_bounds", "policy_loss"),
                severity="warning",
            )
        ]
    return []


RULE = Rule(
    id="GL026",
    name="cispo-bounds",
    severity="error",
    title="CISPO importance-weight bounds that cap the weight below 1, or PPO-sized bounds",
    why=(
        "CISPO multiplies −A·log π by a detached, clamped importance weight instead of clipping the surrogate. "
        "The clamp is on the weight itself, not on a deviation from 1. TRL uses `epsilon_high` as that absolute "
        "cap and falls back to `epsilon` (0.2) when it is unset, so every weight is clamped to 0.2: since the "
        "ratio is ≈ 1 on-policy, the run is REINFORCE with a 5× smaller step and no importance correction "
        "(error). verl and SkyRL take offsets from 1 (`1 − low`, `1 + high`); PPO-sized offsets (0.2/0.2 → "
        "[0.8, 1.2]) make the weight band as narrow as PPO's clip, which SkyRL shipped and then fixed (warning). "
        "A lower offset of 0 does not remove the floor: it puts it at 1, so every token the update made less likely "
        "keeps weight 1 (EasyR1's own CISPO example writes `clip_ratio_low=0`; warning)."
    ),
    fix=(
        "TRL: `epsilon_high: 5.0` (the paper index's CISPO recipe). verl: `actor_rollout_ref.actor.clip_ratio_low: "
        "1.0` and `clip_ratio_high: 4.0` with `policy_loss.loss_mode: cispo` (bounds [0, 5]). SkyRL: "
        "`trainer.algorithm.cispo.cispo_eps_clip_low: 1.0`, `cispo_eps_clip_high: 4.0` (its current defaults). "
        "EasyR1: `worker.actor.clip_ratio_low=1.0 worker.actor.clip_ratio_high=4.0`."
    ),
    check=check,
    example="# lint with: --input-format trl\nloss_type: cispo\nnum_generations: 8\n",
    fixed_example="# lint with: --input-format trl\nloss_type: cispo\nepsilon_high: 5.0\nnum_generations: 8\n",
    references=(
        "huggingface/trl trl/trainer/grpo_trainer.py (cispo: clamp(coef_1, max=epsilon_high))",
        "huggingface/trl docs/source/paper_index.md (CISPO: epsilon_high=5.0)",
        "NovaSky-AI/SkyRL#553, NovaSky-AI/SkyRL#1928",
        "verl-project/verl verl/trainer/ppo/core_algos.py (compute_policy_loss_cispo)",
    ),
)
