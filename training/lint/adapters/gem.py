"""gem: a command line of `examples/train_oat/train_oat_grpo.py` (OAT's tyro CLI plus gem's own arguments).

gem's defaults differ from OAT's where it matters most: `--norm_return` defaults to **true** (a learner-side
whitening over all transitions) and `--critic_type2` (the actor-side episode estimator) to `none`. So a command
line that only says `--critic_type2 grpo` normalizes twice (GL001), triggered by a default.
Defaults are those of axon-rl/gem as of 2025-12-31. PR #113 (the double-normalization fix) was still open then;
if it lands it may flip `--norm_return`'s default, so for a `--framework-version` date after the snapshot a
default `norm_return` is reported as version-sensitive (GL037).
"""

from __future__ import annotations

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source
from training.lint.adapters.oat import loss_from_critic_type, map_common, oat_source
from training.lint.concepts import BatchWhitening, Change, Concepts, requested_version

NAME = "gem"
VERSION = "main@2025-12-31"
AFTER_SNAPSHOT = Change(date="2026-01-01")  # whether PR #113 landed after this is not known here

ENTRY_POINTS = ("train_oat_grpo.py", "train_oat.py")
_ESTIMATORS = ("grpo", "drgrpo", "rloo", "ep_level", "none")


def detect(text: str, path: str | None) -> float:
    if mentions(text, ENTRY_POINTS):
        return 0.95
    return 0.6 if mentions(text, ("--critic_type2", "--norm_return", "--no-norm_return")) else 0.0


def _multi_turn(src: Source) -> bool:
    """`game:*` envs and tool-using wrappers take several steps per episode; `math:*`/`qa:*` take one."""
    env = src.str_("env_id", "") or ""
    wrappers = str(src.raw("wrappers", "") or "")
    return env.startswith("game:") or "tool" in wrappers or "tool" in env.lower()


def map_source(src: Source, version: str | None = None) -> Mapped:
    est = src.str_("critic_type2", "none") or "none"
    if est not in _ESTIMATORS:
        raise src._bad("critic_type2", f"one of {', '.join(_ESTIMATORS)}")
    norm = src.bool_("norm_return", True)
    c = Concepts(framework=NAME, framework_version=version or VERSION, std_eps=1e-9, std_unbiased=False)
    loss_from_critic_type(src, c)
    c.estimator = "rebn" if est == "none" and norm else est  # type: ignore[assignment]
    c.group_mean = est in ("grpo", "drgrpo", "rloo")
    c.group_norm_std = est == "grpo"
    # the learner whitens every transition of all devices; only ReBN (critic_type2 none) is built on it
    c.batch_whitening = BatchWhitening(
        mean=norm, std=norm, scope="transitions", intrinsic=norm and est == "none"
    )
    map_common(src, c)
    c.gamma_used_by_estimator = est == "none"  # per turn, not per token
    c.multi_turn = _multi_turn(src)
    grouped = est in ("grpo", "drgrpo", "rloo")
    # an actor keeps a random subset of transitions after the group advantages were computed
    c.subsample_after_norm = c.multi_turn and grouped
    c.subsample_unit = "transitions" if c.multi_turn and grouped else "none"
    c.subsample_size = c.per_device_samples
    c.per_device_samples = None  # episodes are grouped by initial state in the actor, not reshaped
    c.positional_grouping = False
    o = c.origins
    for concept in ("estimator", "group_mean", "group_norm_std"):
        o[concept] = src.origin("critic_type2")
    o["batch_whitening"] = src.origin("norm_return")
    o["subsample_unit"] = src.origin("rollout_batch_size_per_device", "--rollout_batch_size_per_device")
    o["std_eps"] = src.fixed("critic_type2", "group std epsilon (fixed at 1e-9 in gem)")
    if version and AFTER_SNAPSHOT.applies(version) and not src.written("norm_return"):
        c.version_notes.append(
            (
                "--norm_return",
                "defaults to true in gem main@2025-12-31 (a learner-side whitening on top of the group "
                "advantages); axon-rl/gem PR #113, open at that snapshot, removes the double normalization and may "
                f"change this default. Linted with the snapshot's default (true) for {version}: write "
                "`--norm_return` or `--no-norm_return` to make it explicit.",
            )
        )
        o["version:--norm_return"] = src.origin("norm_return")
    return Mapped(concepts=c)


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    src = oat_source(text, ENTRY_POINTS, "python train_oat_grpo.py ...")
    return map_source(src, version or requested_version())
