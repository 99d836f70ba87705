"""GL021 no-baseline: a policy gradient with no baseline at all."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule

# estimators that carry their own baseline (a critic, a greedy/optimal baseline, or whitening); rloo's is its
# leave-one-out group mean, so it counts only with `group_mean` (a singleton group has none)
_HAS_BASELINE = frozenset(
    {"gae", "remax", "opo", "gpg", "reinforce_pp", "reinforce_pp_baseline", "rebn", "other"}
)


def check(c: Concepts) -> list[Hit]:
    if c.group_mean or c.estimator in _HAS_BASELINE or c.batch_whitening.mean or c.reward_norm.mean != "none":
        return []
    return [
        Hit(
            f"{c.key('estimator')}: {c.estimator} has no baseline here (no group mean, critic or batch mean): with "
            f"0/1 rewards every sample of a failed batch is pushed down by its raw value; the variance is ~"
            f"{max(c.group_size, 2)}× that of a group baseline.",
            ("estimator", "group_size"),
        )
    ]


RULE = Rule(
    id="GL021",
    name="no-baseline",
    severity="warning",
    title="A policy gradient with no baseline at all",
    why=(
        "Without a group mean, a critic or a batch mean, every sampled answer is pushed by its raw reward: "
        "with 0/1 rewards all samples of a failed batch are pushed down and all successes up, and the "
        "gradient variance is about G× that of a group baseline."
    ),
    fix="Add a group mean (a group estimator) or a batch mean (whitening).",
    check=check,
    example="algorithm:\n  estimator: ep_level\n  norm_return: false\n",
    fixed_example="algorithm:\n  estimator: drgrpo\n  norm_return: false\n",
    references=(
        "inclusionAI/AReaL areal/trainer/ppo/actor.py",
        "docs/frameworks/areal.md",
        "docs/frameworks/gem.md",
        "docs/frameworks/verl.md",
    ),
)
