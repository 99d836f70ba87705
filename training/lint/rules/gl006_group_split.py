"""GL006 group-split: batches or subsampling that split a group."""

from __future__ import annotations

from training.lint.concepts import Concepts
from training.lint.findings import Hit, Rule
from training.lint.rules._fixes import theirs


def check(c: Concepts) -> list[Hit]:
    hits = []
    g = c.group_size
    if g >= 2 and c.positional_grouping:
        for concept, what in (
            ("rollout_samples", "samples per rollout batch"),
            ("per_device_samples", "samples per device"),
            ("minibatch_samples", "samples per mini-batch"),
        ):
            n = getattr(c, concept)
            if n is not None and n % g != 0:
                hits.append(
                    Hit(
                        f"{c.key(concept)} gives {n} {what}, not a multiple of the group size {g}: "
                        f"{n % g} episodes of a group land in another batch, whose baseline then mixes prompts.",
                        (concept, "group_size"),
                        fix=theirs(c, f"make {c.key(concept)} a multiple of {c.key('group_size')} ({g})"),
                    )
                )
    if c.framework == "grpolab" and g >= 1 and c.n_devices > 1 and c.rollout_samples:
        groups = c.rollout_samples // g
        if groups < c.n_devices:
            # our ranks play whole groups (never split), so the world size matters only when it outnumbers them
            hits.append(
                Hit(
                    f"{groups} group(s) per step over {c.n_devices} learner ranks (resources: nodes × ranks per "
                    f"node): {c.n_devices - groups} rank(s) get no group to play or learn from each step.",
                    ("n_devices", "rollout_samples"),
                    severity="warning",
                    fix=f"make rollout.batch_size at least {c.n_devices * g} ({c.n_devices} ranks × group size "
                    f"{g}), or use fewer ranks",
                )
            )
    if c.subsample_after_norm or c.subsample_unit == "transitions":
        followed = c.batch_whitening.std and not c.batch_whitening.intrinsic
        if c.subsample_unit == "transitions" or followed:
            size = f" {c.subsample_size}" if c.subsample_size else ""
            msg = (
                f"{c.key('subsample_unit', 'subsampling')} keeps{size} random transitions regardless of groups "
                "after the group advantages were computed: the surviving members of a group no longer sum to zero"
            )
            if followed:
                msg += ", and the batch whitening then computes its statistics on that random subset"
            hits.append(
                Hit(
                    msg + ".",
                    ("subsample_unit", "group_size"),
                    severity="error" if followed or c.framework == "grpolab" else "info",
                    fix=theirs(c, "subsample whole groups or not at all")
                    or "subsample whole groups (`rollout.subsample.unit: groups`) or not at all",
                )
            )
    return hits


RULE = Rule(
    id="GL006",
    name="group-split",
    severity="error",
    title="Batches or subsampling that split a group",
    why=(
        "Group statistics only mean something over a whole group. A batch size that is not a multiple of G "
        "puts part of a group in another batch; subsampling transitions at random after the advantages were "
        "computed leaves groups whose survivors no longer sum to zero, and any later statistic is computed "
        "on a random subset."
    ),
    fix=(
        "Make `rollout.batch_size` a multiple of `algorithm.group_size`; subsample whole groups or not at "
        "all."
    ),
    check=check,
    example="algorithm:\n  group_size: 8\nrollout:\n  batch_size: 100\n",
    fixed_example="algorithm:\n  group_size: 8\nrollout:\n  batch_size: 96\n",
)
