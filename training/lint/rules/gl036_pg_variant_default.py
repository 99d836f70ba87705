"""GL036 pg-variant-default: ROLL's policy-gradient worker without `pg_variant` trains unclipped."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule


def check(c: Concepts) -> list[Hit]:
    if not c.unclipped_pg_default:
        return []
    return [
        Hit(
            f"{c.key('unclipped_pg_default')} selects ROLL's policy-gradient worker, and `pg_variant` is not set: "
            "it falls back to `vanilla`, a plain policy gradient with no ratio and no clipping, so the "
            "`pg_clip` settings do nothing and every mini-batch after the first is an uncorrected off-policy step.",
            ("unclipped_pg_default",),
        )
    ]


RULE = Rule(
    id="GL036",
    name="pg-variant-default",
    severity="warning",
    title="ROLL's ActorPGWorker without `pg_variant`: vanilla, unclipped policy gradient",
    why=(
        "ROLL's `ActorPGWorker` reads `actor_train.pg_variant` (vanilla, ppo, tis, topr, cispo, kimi15) and "
        "falls back to `vanilla` when it is unset: the loss is −A·log π with no importance ratio and no clip. "
        "Users switch to this worker to get one of the variants and forget to name it. The default RLVR "
        "`ActorWorker`, conversely, never reads `pg_variant` (GL019)."
    ),
    fix="Set `actor_train.pg_variant` (e.g. `ppo` or `cispo`), or use the default `ActorWorker`.",
    check=check,
    example=(
        "# lint with: --input-format roll\nadv_estimator: grpo\nnum_return_sequences_in_group: 8\n"
        "actor_train:\n  worker_cls: roll.pipeline.rlvr.actor_pg_worker.ActorPGWorker\n"
    ),
    fixed_example=(
        "# lint with: --input-format roll\nadv_estimator: grpo\nnum_return_sequences_in_group: 8\n"
        "actor_train:\n  worker_cls: roll.pipeline.rlvr.actor_pg_worker.ActorPGWorker\n  pg_variant: ppo\n"
    ),
    references=(
        "alibaba/ROLL roll/pipeline/rlvr/actor_pg_worker.py",
        "alibaba/ROLL roll/configs/worker_config.py",
    ),
)
