"""AReaL: an experiment YAML (`gconfig`, `actor`, `ref`, `critic`, `rollout`, `train_dataset`, ...), or Hydra
overrides of `python3 -m areal.launcher.local ...`. Defaults are those of `areal/api/cli_args.py` as of
2026-05-21.

AReaL has no estimator key: the estimator is inferred from the shape of `actor.reward_norm` (reward stage) and
`actor.adv_norm` (advantage stage), e.g. group mean + group std then `adv_norm` with a std level is GRPO
normalized twice (GL001), group mean only then `adv_norm` is REINFORCE++-baseline (not a double). The
classification follows the maths, not the label: leave-one-out centring is G/(G−1)·(x − mean), a constant multiple
of mean-centring, and a group mean with a batch std is mean-centring over a constant; the scale-invariant
`adv_norm` whitening that follows makes both equal to REINFORCE++-baseline (not GL001).

Order of `_compute_advantages`: reward scale/bias, clip to ±`reward_clip`, `reward_norm`, then the per-token KL
reward (added after the z-score, not divided by the std), `mask_no_eos_with_zero`, GAE, `adv_norm`.
"""

from __future__ import annotations

from typing import Any

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source
from training.lint.adapters._yaml import try_parse, yaml_or_script
from training.lint.concepts import BatchWhitening, Concepts, RewardNorm, requested_version

NAME = "areal"
VERSION = "main@2026-05-21"


def label(version: str | None) -> str:
    """The version named in messages: only one version is modelled, so an asked one is shown beside it."""
    return f"{VERSION} (asked: {version}; no version differences modelled)" if version else VERSION


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


def map_source(src: Source, version: str | None = None) -> Mapped:
    rn, an = _Norm(src, "actor.reward_norm"), _Norm(src, "actor.adv_norm")
    r_mean, r_std = rn.level("mean_level"), rn.level("std_level")
    a_mean, a_std = an.level("mean_level"), an.level("std_level")
    critic = src.has("critic") and src.raw("critic") is not None
    c = Concepts(framework=NAME, framework_version=label(version), estimator_declared=False)
    c.group_mean, c.group_norm_std = False, False
    c.reward_norm = RewardNorm(mean=r_mean, std=r_std)  # type: ignore[arg-type]
    whiten = an.present and (a_mean != "none" or a_std != "none")
    intrinsic = False
    if critic:
        c.estimator, intrinsic = "gae", True
    elif r_mean == "group" and r_std != "group" and whiten and a_std != "none":
        # mean-centring (leave-one-out or not) times a constant, then a scale-invariant whitening:
        # REINFORCE++-baseline, whatever the label (RLOO, Dr. GRPO, LitePPO)
        c.estimator, c.group_mean, intrinsic = "reinforce_pp_baseline", True, True
    elif r_mean == "group" and rn.get("mean_leave1out"):
        c.estimator, c.group_mean = "rloo", True
        c.group_norm_std = r_std == "group"
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
    c.kl_after_norm = True  # the per-token KL reward is added after reward_norm
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
    _map_2026(src, c, r_std == "group", r_mean == "group")
    return Mapped(concepts=c)


def _map_2026(src: Source, c: Concepts, z_scored: bool, centred: bool) -> None:
    """Policy loss, decoupled loss and staleness, reward clip, truncation, steps per batch, dead keys."""
    o = c.origins

    def dead(key: str, why: str) -> None:
        c.dead_keys.append((key, why))
        o[f"dead:{key}"] = src.origin(key)

    level = src.str_("actor.importance_sampling_level", "token") or "token"
    c.ratio_level = "sequence" if level == "sequence" else "token"
    o["ratio_level"] = src.origin("actor.importance_sampling_level")
    if src.bool_("actor.use_sapo_loss", False):
        c.policy_loss = "sapo"
        for key in ("actor.eps_clip", "actor.eps_clip_higher"):
            if src.written(key):
                dead(key, "`actor.use_sapo_loss` gates with SAPO temperatures, not a clip")
    decoupled = src.bool_("actor.use_decoupled_loss", False)
    rejection = src.has("actor.rejection_sampling") and src.raw("actor.rejection_sampling") is not None
    if rejection and not decoupled:
        dead(
            "actor.rejection_sampling",
            "it is only applied with `actor.use_decoupled_loss: true` (AReaL warns too)",
        )
    if decoupled and not rejection:
        key = "actor.use_decoupled_loss"
        c.version_notes.append(
            (
                key,
                "the decoupled loss used to filter stale tokens by default (`behave_imp_weight_cap: 5.0`, "
                "token_mask); since `actor.rejection_sampling` replaced it, the default is None: no filtering. "
                f"Linted as {c.framework_version}: no filtering.",
            )
        )
        o[f"version:{key}"] = src.origin(key)
    # the decoupled loss weighs by π_prox / π_behave with the inference engine's log-probs
    c.sampler_is_correction = decoupled
    o["sampler_is_correction"] = src.origin("actor.use_decoupled_loss")
    stale = src.int_("rollout.max_head_offpolicyness", 0) or 0
    if stale > 0:
        c.off_policy = f"rollout.max_head_offpolicyness = {stale}"
        c.off_policy_corrected = decoupled
        o["off_policy"] = src.origin("rollout.max_head_offpolicyness")
    filters = []
    top_p = src.float_("gconfig.top_p", 1.0)
    if top_p is not None and top_p < 1:
        filters.append((src.origin("gconfig.top_p").key, f"{top_p:g}"))
    top_k = src.int_("gconfig.top_k", 100_000_000)
    if top_k is not None and 0 < top_k < 100_000_000:
        filters.append((src.origin("gconfig.top_k").key, f"{top_k}"))
    c.sampling_filters = filters
    o["sampling_filters"] = src.origin("gconfig.top_p")
    # the ±20 default clips raw rewards before reward_norm; checked where the file sets it
    if src.written("actor.reward_clip"):
        c.reward_clip = src.float_("actor.reward_clip", 20.0)
        c.reward_clip_stage = "before_norm"
        o["reward_clip"] = src.origin("actor.reward_clip")
    c.truncation_zero_reward_only = src.bool_("actor.mask_no_eos_with_zero", False)
    o["truncation_zero_reward_only"] = src.origin("actor.mask_no_eos_with_zero")
    c.max_completion_tokens = src.int_("gconfig.max_new_tokens", 16384)
    o["max_completion_tokens"] = src.origin("gconfig.max_new_tokens")
    n_mb = src.int_("actor.ppo_n_minibatches", 4) or 1
    c.updates_per_rollout = float(n_mb)
    c.updates_formula = f"actor.ppo_n_minibatches {n_mb}"
    o["updates_per_rollout"] = src.origin("actor.ppo_n_minibatches")
    inert = []
    if src.written("actor.eps_clip_higher"):
        inert.append("`actor.eps_clip_higher`")
    if src.written("actor.c_clip"):
        inert.append("`actor.c_clip`")
    c.off_policy_only_settings = inert
    # a group z-score cancels any affine map of the reward; a group mean cancels a constant bias
    clip_note = " (it only changes which rewards reach `actor.reward_clip`, applied before the normalization)"
    if (
        z_scored
        and (src.float_("actor.reward_scaling", 1.0) or 0.0) > 0
        and src.float_("actor.reward_scaling", 1.0) != 1
    ):
        dead(
            "actor.reward_scaling",
            "the group z-score of `actor.reward_norm` divides the scale out again" + clip_note,
        )
    if centred and src.float_("actor.reward_bias", 0.0):
        dead(
            "actor.reward_bias",
            "the group mean of `actor.reward_norm` subtracts any constant bias again" + clip_note,
        )


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    src = yaml_or_script(text, ENTRY_POINTS, "python3 -m areal.launcher.local ...")
    return map_source(src, version or requested_version())
