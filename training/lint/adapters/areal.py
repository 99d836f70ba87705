"""AReaL: an experiment YAML (`gconfig`, `actor`, `ref`, `critic`, `rollout`, `train_dataset`, ...), or Hydra
overrides of `python3 -m areal.launcher.local ...`. Defaults are those of `areal/api/cli_args.py` as of
2026-05-21.

AReaL has no estimator key: the estimator is inferred from the shape of `actor.reward_norm` (reward stage) and
`actor.adv_norm` (advantage stage), e.g. group mean + group std then `adv_norm` with a std level is GRPO
normalized twice (GL001), group mean only then `adv_norm` is REINFORCE++-baseline (not a double).
"""

from __future__ import annotations

from typing import Any

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source
from training.lint.adapters._yaml import try_parse, yaml_or_script
from training.lint.concepts import BatchWhitening, Concepts, RewardNorm

NAME = "areal"
VERSION = "main@2026-05-21"

ENTRY_POINTS = ("areal.launcher.local", "areal.launcher.ray", "areal.launcher.slurm")
_NORM_DEFAULTS: dict[str, Any] = {
    "mean_level": "batch",
    "std_level": "batch",
    "group_size": 1,
    "mean_leave1out": False,
    "std_unbiased": True,
    "eps": 1e-5,
}


def detect(text: str, path: str | None) -> float:
    if mentions(text, ("areal.launcher", "areal.")) and not try_parse(text):
        return 0.9 if mentions(text, ENTRY_POINTS) else 0.0
    raw = try_parse(text)
    if not raw:
        return 0.0
    if "gconfig" in raw and "actor" in raw:
        return 0.95
    return 0.4 if "gconfig" in raw else 0.0


class _Norm:
    """One NormConfig section (or its absence), with AReaL's defaults for the keys it leaves out."""

    def __init__(self, src: Source, key: str):
        self.key = key
        self.src = src
        self.present = src.has(key) and src.raw(key) is not None
        if src.has(key) and not isinstance(src.raw(key), (dict, type(None))):
            raise src._bad(key, "a mapping (NormConfig) or null")

    def level(self, name: str) -> str:
        if not self.present:
            return "none"
        v = self.src.raw(f"{self.key}.{name}", _NORM_DEFAULTS[name])
        if v not in (None, "batch", "group"):
            raise self.src._bad(f"{self.key}.{name}", "batch, group or null")
        return v or "none"

    def get(self, name: str) -> Any:
        if name in ("eps",):
            return self.src.float_(f"{self.key}.{name}", _NORM_DEFAULTS[name])
        if name == "group_size":
            return self.src.int_(f"{self.key}.{name}", _NORM_DEFAULTS[name])
        return self.src.bool_(f"{self.key}.{name}", _NORM_DEFAULTS[name])


def map_source(src: Source) -> Mapped:
    rn, an = _Norm(src, "actor.reward_norm"), _Norm(src, "actor.adv_norm")
    r_mean, r_std = rn.level("mean_level"), rn.level("std_level")
    a_mean, a_std = an.level("mean_level"), an.level("std_level")
    critic = src.has("critic") and src.raw("critic") is not None
    c = Concepts(framework=NAME, framework_version=VERSION, estimator_declared=False)
    c.group_mean, c.group_norm_std = False, False
    c.reward_norm = RewardNorm(mean=r_mean, std=r_std)  # type: ignore[arg-type]
    whiten = an.present and (a_mean != "none" or a_std != "none")
    intrinsic = False
    if critic:
        c.estimator, intrinsic = "gae", True
    elif r_mean == "group" and rn.get("mean_leave1out"):
        c.estimator, c.group_mean = "rloo", True
    elif r_mean == "group" and r_std == "group":
        c.estimator, c.group_mean, c.group_norm_std = "grpo", True, True
    elif r_mean == "group" and r_std == "batch":
        c.estimator, c.group_mean = "grpo", True  # LitePPO: group mean and batch std in one step
    elif r_mean == "group":
        c.estimator, c.group_mean = ("reinforce_pp_baseline", True) if whiten else ("drgrpo", True)
        intrinsic = whiten
    elif whiten and a_mean != "none":
        c.estimator, intrinsic = "reinforce_pp", True
    else:
        c.estimator = "reinforce"
    c.batch_whitening = BatchWhitening(
        mean=whiten and a_mean != "none", std=whiten and a_std != "none", scope="tokens", intrinsic=intrinsic
    )
    # group-level statistics reshape by the normalizer's own group_size (default 1)
    sizes = [
        (n, n.get("group_size")) for n, lv in ((rn, (r_mean, r_std)), (an, (a_mean, a_std))) if "group" in lv
    ]
    size_key = None
    if sizes:
        size_key, c.norm_group_size = sizes[0][0].key + ".group_size", sizes[0][1]
        for n, size in sizes[1:]:
            if size != c.norm_group_size:
                size_key, c.norm_group_size = n.key + ".group_size", size
    if r_std == "group":
        c.std_eps, c.std_unbiased = rn.get("eps"), rn.get("std_unbiased")
    c.loss_agg = "token_mean"
    c.length_norm_available = False
    c.group_size = src.int_("gconfig.n_samples", 1) or 0
    c.temperature = src.float_("gconfig.temperature", 1.0) or 0.0
    c.greedy = src.bool_("gconfig.greedy", False)
    c.logprob_temperature = src.float_("actor.temperature", 1.0)
    kl = src.float_("actor.kl_ctl", 0.1) or 0.0
    c.kl_in_reward, c.kl_reward_coef = kl > 0, kl
    c.kl_estimator = src.str_("actor.kl_estimator", "k1") or "k1"
    # without a `ref:` section no reference engine is built and its log-probs are zeros
    c.use_ref = src.has("ref") and src.raw("ref") is not None
    c.missing_ref_is_zeros = True
    eps = src.float_("actor.eps_clip", 0.2)
    c.clip_low = eps
    c.clip_high = src.float_("actor.eps_clip_higher", None) or eps
    c.clip_dual = src.float_("actor.c_clip", None)
    c.gamma = src.float_("actor.discount", 1.0) or 0.0
    c.lam = src.float_("actor.gae_lambda", 1.0) or 0.0
    c.gamma_used_by_estimator = True
    c.gamma_per_token = not critic
    prompts = src.int_("train_dataset.batch_size", None)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * c.group_size if prompts else None
    c.positional_grouping = True

    o = c.origins
    shape = "actor.reward_norm"
    for concept in ("estimator", "group_mean", "group_norm_std"):
        o[concept] = src.origin(shape)
    o["batch_whitening"] = src.origin("actor.adv_norm")
    o["norm_group_size"] = src.origin(size_key or "actor.reward_norm.group_size")
    o["std_eps"] = src.origin("actor.reward_norm.eps")
    o["group_size"] = src.origin("gconfig.n_samples")
    o["temperature"] = src.origin("gconfig.temperature")
    o["greedy"] = src.origin("gconfig.greedy")
    o["logprob_temperature"] = src.origin("actor.temperature")
    o["kl_reward_coef"] = src.origin("actor.kl_ctl")
    o["kl_estimator"] = src.origin("actor.kl_estimator")
    o["use_ref"] = src.origin("ref", "ref")
    o["clip_low"] = src.origin("actor.eps_clip")
    o["clip_high"] = src.origin(
        "actor.eps_clip_higher" if src.written("actor.eps_clip_higher") else "actor.eps_clip"
    )
    o["clip_dual"] = src.origin("actor.c_clip")
    o["gamma"] = src.origin("actor.discount")
    o["rollout_samples"] = src.origin("train_dataset.batch_size")
    return Mapped(concepts=c)


def map_text(text: str, path: str | None) -> Mapped:
    return map_source(yaml_or_script(text, ENTRY_POINTS, "python3 -m areal.launcher.local ..."))
