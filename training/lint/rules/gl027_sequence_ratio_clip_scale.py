"""GL027 sequence-ratio-clip-scale: a token-sized clip on a sequence-level ratio (GSPO) never binds."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule

_SEQUENCE_CLIP = 0.01  # GSPO's paper clips the sequence ratio at 3e-4 / 4e-4


def check(c: Concepts) -> list[Hit]:
    if c.ratio_level != "sequence" or c.policy_loss not in ("ppo", "gspo"):
        return []
    clips = [x for x in (c.clip_low, c.clip_high) if x is not None]
    if not clips or max(clips) < _SEQUENCE_CLIP:
        return []
    return [
        Hit(
            f"the importance ratio is per sequence ({c.key('ratio_level')}): the geometric mean of the token "
            f"ratios over a whole answer moves by ~1e-3 per step, so a clip of {max(clips):g} "
            f"({c.key('clip_high')}) almost never binds and the update is unclipped in practice. GSPO clips the "
            "sequence ratio at 3e-4 / 4e-4.",
            ("clip_high", "ratio_level"),
        )
    ]


RULE = Rule(
    id="GL027",
    name="sequence-ratio-clip-scale",
    severity="warning",
    title="A token-sized clip range on a sequence-level importance ratio",
    why=(
        "GSPO's importance ratio is the length-normalized (geometric-mean) ratio of a whole sequence. Token "
        "deviations average out over hundreds of tokens, so the sequence ratio stays within about 1e-3 of 1 even "
        "when individual tokens move a lot. A clip of 0.2, sized for per-token ratios, then never binds: the "
        "trust region the config reads as active does not exist. The GSPO paper uses 3e-4 (low) and 4e-4 (high)."
    ),
    fix=(
        "Use sequence-sized clips: verl `actor_rollout_ref.actor.clip_ratio_low: 3e-4`, `clip_ratio_high: 4e-4`; "
        "TRL `epsilon: 3e-4`, `epsilon_high: 4e-4`; SkyRL `eps_clip_low`/`eps_clip_high`; OpenRLHF "
        "`--actor.eps_clip_low_high 3e-4 4e-4`; AReaL `actor.eps_clip`."
    ),
    check=check,
    example=(
        "# lint with: --input-format verl\nalgorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  actor:\n"
        "    policy_loss:\n      loss_mode: gspo\n    loss_agg_mode: seq-mean-token-mean\n  rollout:\n    n: 8\n"
    ),
    fixed_example=(
        "# lint with: --input-format verl\nalgorithm:\n  adv_estimator: grpo\nactor_rollout_ref:\n  actor:\n"
        "    policy_loss:\n      loss_mode: gspo\n    loss_agg_mode: seq-mean-token-mean\n"
        "    clip_ratio_low: 3.0e-4\n    clip_ratio_high: 4.0e-4\n  rollout:\n    n: 8\n"
    ),
    references=("huggingface/trl#3834", "verl-project/verl examples/gspo_trainer/README.md (3e-4 / 4e-4)"),
)
