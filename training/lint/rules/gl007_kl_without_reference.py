"""GL007 kl-without-reference: kL with no reference policy, or KL applied twice."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules._fixes import theirs


def check(c: Concepts) -> list[Hit]:
    hits = []
    coef = max(c.kl_loss_coef if c.kl_in_loss else 0.0, c.kl_reward_coef if c.kl_in_reward else 0.0)
    if coef > 0 and not c.use_ref:
        hits.append(
            Hit(
                f"a KL coefficient of {coef:g} is set but there is no reference policy ({c.key('use_ref')}): the "
                "term measures nothing (or, in AReaL, turns into an entropy bonus).",
                ("use_ref", "kl_loss_coef", "kl_reward_coef"),
                # a zero reference turns the penalty into −coef·log π, an entropy bonus nobody asked for
                severity="error" if c.missing_ref_is_zeros else None,
                fix=theirs(
                    c, f"configure a reference model ({c.key('use_ref')}) or set the coefficient to 0"
                ),
            )
        )
    if c.kl_in_loss and c.kl_in_reward and c.kl_loss_coef > 0 and c.kl_reward_coef > 0:
        hits.append(
            Hit(
                f"KL is applied twice: in the reward ({c.key('kl_reward_coef')} = {c.kl_reward_coef:g}) and in the "
                f"loss ({c.key('kl_loss_coef')} = {c.kl_loss_coef:g}).",
                ("kl_reward_coef", "kl_loss_coef"),
                fix="keep one placement: the loss for GRPO, the reward for REINFORCE++",
            )
        )
    return hits


RULE = Rule(
    id="GL007",
    name="kl-without-reference",
    severity="warning",
    title="KL with no reference policy, or KL applied twice",
    why=(
        "A KL term needs a reference policy; without one it measures nothing (AReaL substitutes zeros, which "
        "turns the 'KL' into an entropy bonus). KL both in the reward and in the loss applies the penalty "
        "twice through two different estimators."
    ),
    fix="Set `algorithm.reference: initial` or the coefficient to 0; keep KL in one place.",
    check=check,
    example="algorithm:\n  kl_coef: 0.05\n  reference: none\n",
    fixed_example="algorithm:\n  kl_coef: 0.05\n  reference: initial\n",
)
