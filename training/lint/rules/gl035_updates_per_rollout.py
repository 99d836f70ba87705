"""GL035 updates-per-rollout: how many optimizer steps each rollout batch feeds (K), when K is extreme."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule

_MANY = 8


def check(c: Concepts) -> list[Hit]:
    k = c.updates_per_rollout
    if k is None or not c.policy_gradient or 1 <= k < _MANY:
        return []
    how = f" ({c.updates_formula})" if c.updates_formula else ""
    if k < 1:
        return [
            Hit(
                f"{k:g} optimizer steps per rollout batch{how}: one optimizer batch is larger than a whole "
                "rollout; check the units (prompts or samples) of the two batch sizes.",
                ("updates_per_rollout",),
            )
        ]
    return [
        Hit(
            f"{k:g} optimizer steps per rollout batch{how}: from the second step on the data is off-policy, and "
            f"by step {k:g} heavily so: the clip range and any importance correction decide what is learned.",
            ("updates_per_rollout",),
        )
    ]


RULE = Rule(
    id="GL035",
    name="updates-per-rollout",
    severity="info",
    title="Many (or less than one) optimizer steps per rollout batch",
    why=(
        "K = (samples per rollout / samples per optimizer step) × epochs. K = 1 is on-policy (see GL030); "
        "every further step trains on data from an older policy. Frameworks count the two batch sizes in "
        "different units (verl's `ppo_mini_batch_size` counts prompts and is multiplied by `rollout.n`; "
        "OpenRLHF's `--train.batch_size` counts samples), so K is often far from what the user believes: "
        "OpenRLHF's defaults with 8 samples per prompt give 64 steps per rollout."
    ),
    fix=(
        "Choose K on purpose (1–4 is common): verl `data.train_batch_size / ppo_mini_batch_size × ppo_epochs`; "
        "OpenRLHF `--rollout.batch_size × --rollout.n_samples_per_prompt / --train.batch_size × "
        "--train.max_epochs`; SkyRL `train_batch_size / policy_mini_batch_size × update_epochs_per_batch`."
    ),
    check=check,
    example=(
        "# lint with: --input-format verl\nalgorithm:\n  adv_estimator: grpo\ndata:\n  train_batch_size: 1024\n"
        "actor_rollout_ref:\n  actor:\n    ppo_mini_batch_size: 64\n  rollout:\n    n: 8\n"
    ),
    fixed_example=(
        "# lint with: --input-format verl\nalgorithm:\n  adv_estimator: grpo\ndata:\n  train_batch_size: 1024\n"
        "actor_rollout_ref:\n  actor:\n    ppo_mini_batch_size: 256\n  rollout:\n    n: 8\n"
    ),
    references=(
        "verl-project/verl#1265",
        "verl-project/verl#180",
        "GAIR-NLP/DeepResearcher#27",
        "OpenRLHF/OpenRLHF#770",
    ),
)
