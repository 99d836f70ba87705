"""GL018 kl-in-reward-under-group-std: a KL penalty in the reward of a group-std estimator."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if not (c.kl_in_reward and c.kl_reward_coef > 0 and c.group_norm_std):
        return []
    if c.kl_after_norm:
        # OpenRLHF, AReaL and ROLL add the per-token KL to the z-scored reward: not divided, summed along the answer
        return [
            Hit(
                f"a KL penalty in the reward ({c.key('kl_reward_coef')} = {c.kl_reward_coef:g}) is added per token "
                f"after {c.framework} z-scores the score, then summed into the returns: a token's advantage is its "
                "answer's z-score minus the KL of every later token, so long answers get more negative early "
                "tokens, and the penalty's weight against a unit-variance z-score is set by the answer length.",
                ("kl_reward_coef", "estimator"),
                fix=(
                    "keep KL in the loss for group estimators (OpenRLHF `--algo.kl.use_loss` with k3; ROLL "
                    "`use_kl_loss: true` and `add_token_level_kl: false`; AReaL has no KL loss: lower `actor.kl_ctl`)"
                ),
            )
        ]
    return [
        Hit(
            f"a KL penalty in the reward ({c.key('kl_reward_coef')} = {c.kl_reward_coef:g}) is divided by the "
            "group std with the score: its strength changes per prompt (×4 in a group with std 0.25 vs 1).",
            ("kl_reward_coef", "estimator"),
        )
    ]


RULE = Rule(
    id="GL018",
    name="kl-in-reward-under-group-std",
    severity="info",
    title="A KL penalty in the reward of a group-std estimator",
    why=(
        "Where the KL penalty is added to the reward before the group z-score (verl, SkyRL), it is divided "
        "by the group std with the score, so its strength changes from prompt to prompt. Where it is added "
        "after the z-score (OpenRLHF, AReaL, ROLL) it is not divided, but it is a per-token term summed "
        "along the answer: an early token's advantage is the answer's z-score minus the KL of all later "
        "tokens, so the penalty's weight against a unit-variance score grows with the answer length. "
        "REINFORCE++ and REINFORCE++-baseline put KL in the reward on purpose and do not divide by a group "
        "std, so they are not affected."
    ),
    fix=(
        "Put KL in the loss for GRPO (verl `actor_rollout_ref.actor.use_kl_loss: true`, OpenRLHF "
        "`--algo.kl.use_loss`, SkyRL `trainer.algorithm.use_kl_loss: true`)."
    ),
    check=check,
    example="algorithm:\n  estimator: grpo\n  kl_reward_coef: 0.05\n",
    fixed_example="algorithm:\n  estimator: grpo\n  kl_coef: 0.05\n",
    references=(
        "verl-project/verl#509",
        "verl-project/verl#2580",
        "docs/frameworks/verl.md",
        "docs/frameworks/openrlhf.md",
        "docs/frameworks/areal.md",
    ),
)
