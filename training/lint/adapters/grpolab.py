"""Our own format: RunConfig mapped onto the concept model."""

from __future__ import annotations

from typing import Any

from training.config_io import LoadedConfig, load_text
from training.lint.adapters import Mapped
from training.lint.concepts import BatchWhitening, Concepts, Origin

NAME = "grpolab"
VERSION = "0.1"

_TOP = ("model", "env", "rollout", "algorithm", "optim", "warm_start", "learner", "resources", "run", "lint")

# concept -> JSON pointer of the RunConfig field it comes from
_POINTERS = {
    "estimator": "/algorithm/estimator",
    "group_mean": "/algorithm/estimator",
    "group_norm_std": "/algorithm/estimator",
    "batch_whitening": "/algorithm/norm_return",
    "std_eps": "/algorithm/std_eps",
    "loss_agg": "/algorithm/loss_agg",
    "length_norm_constant": "/algorithm/length_norm_constant",
    "group_size": "/algorithm/group_size",
    "temperature": "/rollout/temperature",
    "greedy": "/rollout/greedy",
    "kl_loss_coef": "/algorithm/kl_coef",
    "kl_reward_coef": "/algorithm/kl_reward_coef",
    "kl_estimator": "/algorithm/kl_estimator",
    "use_ref": "/algorithm/reference",
    "gamma": "/algorithm/gamma",
    "entropy_coef": "/algorithm/entropy_coef",
    "clip_low": "/algorithm/clip_low",
    "clip_high": "/algorithm/clip_high",
    "subsample_unit": "/rollout/subsample/unit",
    "rollout_samples": "/rollout/batch_size",
    "n_devices": "/resources/nodes",
}


def detect(text: str, path: str | None) -> float:
    """Our format: a YAML/JSON mapping whose top-level keys are RunConfig sections."""
    from training.sourcemap import ConfigSyntaxError, parse_text

    try:
        raw, _ = parse_text(text)
    except ConfigSyntaxError:
        return 0.0
    if raw == {}:
        return 0.6
    if isinstance(raw, dict) and raw and all(k in _TOP for k in raw):
        return 0.95
    if isinstance(raw, dict) and any(k in ("algorithm", "rollout") for k in raw):
        return 0.5
    return 0.0


def map_loaded(loaded: LoadedConfig) -> Mapped:
    cfg = loaded.config
    a, r = cfg.algorithm, cfg.rollout
    est = a.estimator
    c = Concepts(
        framework=NAME,
        framework_version=VERSION,
        estimator=est,
        estimator_declared=True,
        group_mean=est in ("grpo", "drgrpo", "rloo", "reinforce_pp_baseline"),
        group_norm_std=est == "grpo",
        batch_whitening=BatchWhitening(mean=a.norm_return, std=a.norm_return, scope="transitions"),
        std_eps=a.std_eps,
        loss_agg="seq_mean_token_sum_norm" if a.loss_agg == "seq_mean_token_sum" else a.loss_agg,
        length_norm_constant=a.length_norm_constant or r.max_new_tokens,
        group_size=a.group_size,
        temperature=r.temperature,
        greedy=r.greedy,
        kl_in_loss=a.kl_coef > 0,
        kl_loss_coef=a.kl_coef,
        kl_in_reward=a.kl_reward_coef > 0,
        kl_reward_coef=a.kl_reward_coef,
        kl_estimator=a.kl_estimator,
        use_ref=a.reference != "none",
        gamma=a.gamma,
        gamma_used_by_estimator=est == "none",
        entropy_coef=a.entropy_coef,
        clip_low=a.clip_low,
        clip_high=a.clip_high,
        reward_kind="unknown",
        multi_turn=True,
        subsample_unit=r.subsample.unit,
        subsample_size=r.subsample.size,
        subsample_after_norm=r.subsample.unit == "transitions",
        rollout_samples=r.batch_size,
        positional_grouping=True,
        n_devices=cfg.resources.world_size,  # learner ranks over all nodes (docs/ray.md)
    )
    if r.subsample.unit == "groups" and r.subsample.size is not None:
        c.minibatch_samples = None  # whole groups are kept: nothing to check
    for concept, pointer in _POINTERS.items():
        # a default points at the nearest section the file spells out (or nowhere)
        pos = loaded.locate(pointer)
        c.origins[concept] = Origin(
            key=pointer.strip("/").replace("/", "."),
            pointer=pointer,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
            default=not _given(loaded, pointer),
        )
    allow = {x.rule: x.reason for x in cfg.lint.allow}
    return Mapped(concepts=c, allow=allow, loaded=loaded)


def _given(loaded: LoadedConfig, pointer: str) -> bool:
    """Whether the config spells the key out: its source text when there is one, else the object it came as."""
    if loaded.source is not None:
        return loaded.source.has(pointer)
    node: Any = loaded.raw
    for part in pointer.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    return map_loaded(load_text(text, path))
