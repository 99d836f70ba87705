"""GL028 sequence-ratio-token-sum: a sequence-level ratio with a token-summed loss weights answers by length."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule

_TOKEN_WEIGHTED = ("token_mean", "token_mean_local", "seq_mean_token_sum", "seq_mean_token_sum_norm")


def check(c: Concepts) -> list[Hit]:
    # LUSPO is length-weighted by design (it needs the sequence level)
    if c.ratio_level != "sequence" or c.policy_loss == "luspo" or c.loss_agg not in _TOKEN_WEIGHTED:
        return []
    return [
        Hit(
            f"a sequence-level ratio ({c.key('ratio_level')}) with a token-weighted loss ({c.key('loss_agg')}: "
            f"{c.loss_agg}): every token of an answer carries the same sequence ratio and advantage, so summing "
            "over tokens weights each answer by its length (a 2,000-token answer counts 10× a 200-token one). "
            "GSPO averages per sequence.",
            ("loss_agg", "ratio_level"),
        )
    ]


RULE = Rule(
    id="GL028",
    name="sequence-ratio-token-sum",
    severity="warning",
    title="A sequence-level importance ratio with a token-summed or token-mean loss",
    why=(
        "With a sequence-level ratio (GSPO) every token of a sequence shares one ratio and one advantage. A loss "
        "that sums or averages over all tokens of the batch then weights each sequence by its token count, which "
        "re-introduces the length bias the sequence objective was meant to remove. TRL warns about this "
        "combination since PR #6042; verl's GSPO recipe uses `seq-mean-token-mean`."
    ),
    fix=(
        "Average per sequence: verl `actor_rollout_ref.actor.loss_agg_mode: seq-mean-token-mean`; TRL "
        "`loss_type: grpo` (or `luspo`, which is length-weighted by design); SkyRL `loss_reduction: "
        "sequence_mean`; ROLL `loss_agg_mode: seq-mean-token-mean`."
    ),
    check=check,
    example="# lint with: --input-format trl\nimportance_sampling_level: sequence\nloss_type: dapo\n",
    fixed_example="# lint with: --input-format trl\nimportance_sampling_level: sequence\nloss_type: grpo\n",
    references=(
        "huggingface/trl#3823",
        "huggingface/trl#6042",
        "verl-project/verl examples/gspo_trainer/README.md",
    ),
)
