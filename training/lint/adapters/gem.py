"""gem: a command line of `examples/train_oat/train_oat_grpo.py` (OAT's tyro CLI plus gem's own arguments).

gem's defaults differ from OAT's where it matters most: `--norm_return` defaults to **true** (a learner-side
whitening over all transitions) and `--critic_type2` (the actor-side episode estimator) to `none`. So a command
line that only says `--critic_type2 grpo` normalizes twice (GL001), triggered by a default.
Defaults are those of axon-rl/gem as of 2025-12-31.
"""

from __future__ import annotations

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source
from training.lint.adapters.oat import loss_from_critic_type, map_common, oat_source
from training.lint.concepts import BatchWhitening, Concepts

NAME = "gem"
VERSION = "main@2025-12-31"

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


def map_source(src: Source) -> Mapped:
    est = src.str_("critic_type2", "none") or "none"
    if est not in _ESTIMATORS:
        raise src._bad("critic_type2", f"one of {', '.join(_ESTIMATORS)}")
    norm = src.bool_("norm_return", True)
    c = Concepts(framework=NAME, framework_version=VERSION, std_eps=1e-9, std_unbiased=False)
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
    return Mapped(concepts=c)


def map_text(text: str, path: str | None) -> Mapped:
    return map_source(oat_source(text, ENTRY_POINTS, "python train_oat_grpo.py ..."))
