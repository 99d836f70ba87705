"""RAGEN (RAGEN-AI/RAGEN): multi-turn agent RL on its own copy of verl, read by the verl adapter.

Modelled on RAGEN-AI/RAGEN 5eb79b8 (2025-09-06); each fact names its file there:

- episodes: `es_manager.train.env_groups` groups of `es_manager.train.group_size` environments that share a seed,
  so one initial state (ragen/llm_agent/es_manager.py); train.py sets `data.train_batch_size` to their product;
- the baseline: `agent_proxy.reward_normalization` (`grouping` state | inductive | batch, `method` identity |
  mean | mean_std | asym_clip) normalizes each episode's score before any estimator
  (ragen/llm_agent/ctx_manager.py `_normalize_score_tensor`); `state` groups are the env groups, and only a
  group size above 1 normalizes anything; `inductive` groups by environment tag;
- then every sample gets its own uid ("reward normalization already done in ctx_manager, so set group size = 1
  here", ragen/trainer/agent_trainer.py), so verl's grpo / rloo / REINFORCE++-baseline see groups of one and pass
  the normalized score through: `adv_estimator=grpo` with `method: identity` (RAGEN's default) has no baseline;
- `actor_rollout_ref.rollout.rollout_filter_ratio` keeps that fraction of the groups, by in-group reward std
  (`rollout_filter_type` std: the highest; std_rev: the lowest) before the update (agent_trainer.py
  `_filter_rollout`); `grpo_advantage_length_weight` divides each GRPO advantage by its response's length over
  the batch mean.
"""

from __future__ import annotations

from training.lint.adapters._source import Source, note
from training.lint.concepts import Concepts, RewardNorm

RAGEN_VERSION = "RAGEN's fork of verl (RAGEN-AI/RAGEN 5eb79b8, 2025-09-06)"
_RN = "agent_proxy.reward_normalization"
_ES = "es_manager.train"
_R = "actor_rollout_ref.rollout"
_A = "actor_rollout_ref.actor"
_METHODS = ("identity", "mean", "mean_std", "asym_clip")
_GROUPINGS = ("state", "inductive", "batch")
#: verl's estimators whose group is the uid: each sees a group of one in RAGEN
_UID_GROUPED = frozenset({"grpo", "drgrpo", "rloo", "reinforce_pp_baseline"})


def is_ragen(src: Source) -> bool:
    """RAGEN's own sections: upstream verl has no `es_manager` or `agent_proxy` (Hydra would refuse them)."""
    return any(k.startswith(("es_manager.", "agent_proxy.")) for k in src.entries)


def apply(src: Source, c: Concepts) -> None:
    """RAGEN's groups, baseline, batch and completion budget, over verl's mapping of the same file."""
    o = c.origins
    groups = src.int_(f"{_ES}.env_groups", 8) or 0
    size = src.int_(f"{_ES}.group_size", 16) or 0
    grouping = (src.str_(f"{_RN}.grouping", "state") or "state").lower()
    method = src.str_(f"{_RN}.method", "identity") or "identity"
    if grouping not in _GROUPINGS:
        raise src._bad(f"{_RN}.grouping", f"one of {', '.join(_GROUPINGS)}")
    if method not in _METHODS:
        raise src._bad(f"{_RN}.method", f"one of {', '.join(_METHODS)}")
    level = "group" if grouping == "state" else "batch"
    normalizes = method != "identity" and (level == "batch" or size >= 2)
    mean = level if normalizes else "none"
    std = level if normalizes and method in ("mean_std", "asym_clip") else "none"
    c.reward_norm = RewardNorm(mean=mean, std=std)  # type: ignore[arg-type]
    o["reward_norm"] = src.origin(f"{_RN}.method")
    c.group_size = max(size, 1)
    o["group_size"] = src.origin(f"{_ES}.group_size")
    if c.estimator in _UID_GROUPED:
        c.group_mean = mean == "group"
        c.group_norm_std = std == "group"
        o["group_mean"] = o["group_norm_std"] = src.origin(f"{_RN}.method")
    c.rollout_prompts = groups or None
    c.rollout_samples = groups * size if groups and size else None
    o["rollout_samples"] = src.origin(f"{_ES}.env_groups")
    c.eval_group_size = src.int_("es_manager.val.group_size", 1)
    o["eval_group_size"] = src.origin("es_manager.val.group_size")
    c.multi_turn = (src.int_("agent_proxy.max_turn", 5) or 1) > 1
    c.max_completion_tokens = src.int_(f"{_R}.response_length", 400)
    o["max_completion_tokens"] = src.origin(f"{_R}.response_length")
    c.reward_kind = (
        "unknown"  # the environments' own rewards (step penalties, format penalty): not 0/1 checkers
    )
    ratio = src.float_(f"{_R}.rollout_filter_ratio", 0.25)
    mini = src.int_(f"{_A}.ppo_mini_batch_size", 32)
    epochs = src.int_(f"{_A}.ppo_epochs", 1) or 1
    if groups and size and mini and mini > 0 and ratio is not None and ratio > 0:
        kept = int(ratio * groups) * size
        c.updates_per_rollout = kept / mini * epochs
        c.updates_formula = (
            f"int(rollout_filter_ratio {ratio:g} × env_groups {groups}) × group_size {size} / "
            f"ppo_mini_batch_size {mini} × ppo_epochs {epochs}"
        )
        o["updates_per_rollout"] = src.origin(f"{_A}.ppo_mini_batch_size")
    c.framework_version = RAGEN_VERSION
    baseline = {
        "identity": "none (method identity)",
        "mean": f"the {grouping} mean",
        "mean_std": f"the {grouping} z-score",
        "asym_clip": f"the {grouping} z-score clipped to [-1, 3]",
    }[method]
    note(
        f"`es_manager`/`agent_proxy` are sections of {RAGEN_VERSION}, not of verl: read as that fork. A group is "
        f"{_ES}.group_size episodes from one seed; its baseline comes only from `{_RN}` (here: {baseline}), "
        "because the trainer gives every sample its own uid, so verl's estimator sees groups of one"
    )
    if src.bool_("grpo_advantage_length_weight", False) and c.estimator in ("grpo", "drgrpo"):
        note(
            "`grpo_advantage_length_weight` divides each advantage by its response's length over the batch mean"
        )
