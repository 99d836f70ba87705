"""GL030 clip-inert-on-policy: one optimizer step per rollout batch, so the PPO ratio is 1 and clips never bind."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if c.updates_per_rollout != 1 or not c.off_policy_only_settings:
        return []
    keys = ", ".join(c.off_policy_only_settings)
    return [
        Hit(
            f"one optimizer step per rollout batch ({c.updates_formula or c.key('updates_per_rollout')}): the "
            "policy that is trained is the policy that sampled, so the importance ratio is exactly 1 and "
            f"{keys} {'never bind' if len(c.off_policy_only_settings) > 1 else 'never binds'}. Only a "
            "sampler/trainer mismatch correction can move the weight.",
            ("updates_per_rollout",),
        )
    ]


RULE = Rule(
    id="GL030",
    name="clip-inert-on-policy",
    severity="info",
    title="Clip settings that cannot bind because every batch takes one optimizer step",
    why=(
        "PPO-style clipping (clip-higher, dual clip, two-sided `delta`, the CISPO cap) acts on π_θ / π_old. When "
        "each rollout batch is used for exactly one optimizer step, π_θ = π_old at the moment the loss is "
        "computed: the ratio is 1 and every clip is inert. A config with DAPO's `epsilon_high: 0.28` then does "
        "nothing DAPO-like. (TRL skips the old log-probs entirely in this case; SkyRL found stock CISPO inert "
        "under fully-async training.)"
    ),
    fix=(
        "Either accept it (the clip keys are documentation only) or take several steps per batch: TRL "
        "`num_iterations > 1` or `steps_per_generation > gradient_accumulation_steps`; verl `ppo_mini_batch_size` "
        "below `data.train_batch_size` or `ppo_epochs > 1`; AReaL `actor.ppo_n_minibatches > 1`."
    ),
    check=check,
    example="# lint with: --input-format trl\nepsilon_high: 0.28\nnum_iterations: 1\n",
    fixed_example="# lint with: --input-format trl\nepsilon_high: 0.28\nnum_iterations: 2\n",
    references=(
        "huggingface/trl trl/trainer/grpo_trainer.py (old_per_token_logps = per_token_logps.detach())",
        "NovaSky-AI/SkyRL#1859",
    ),
)
