"""ROLL: a pipeline YAML (RLVR `RLVRConfig` or agentic `AgenticConfig`): flat top-level algorithm keys plus
role sections (`actor_train`, `actor_infer`, `reference`, `rewards`, `train_env_manager`). Hydra overrides of
`start_rlvr_pipeline.py` / `start_agentic_pipeline.py` are read too. Defaults are those of ROLL main as of
2026-08-19.

ROLL behaviours this adapter encodes:
- RLVR pipeline: `adv_estimator: grpo` overwrites `norm_mean_type`/`norm_std_type` with `group` in
  `reward_postprocess` (so a "no std" request is ignored, GL009); `reward_clip` acts after that normalization.
- Agentic pipeline (a `train_env_manager` section): that forcing does not exist. The reward stage is
  `reward_normalization` (explicit `norm_mean_type`/`norm_std_type` win; else derived from `grouping` and the
  deprecated `method`: `identity` = none, `mean` = mean only, `mean_std` = both, at batch level for
  `grouping: batch`, group level otherwise), then a REINFORCE return and an optional `masked_whiten`. The
  estimator is classified from that shape, whatever `adv_estimator` says.
- `grpo`/`reinforce` compute per-token discounted returns with `gamma`/`lambd` (GL025 for gamma < 1).
- `actor_train.pg_variant` is read only by the policy-gradient workers (`ActorPGWorker`), which fall back to
  `vanilla` (no ratio, no clip) when it is unset.
"""

from __future__ import annotations

from collections.abc import Callable

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source
from training.lint.adapters._yaml import try_parse, yaml_or_script
from training.lint.concepts import BatchWhitening, Concepts, RewardNorm, requested_version

NAME = "roll"
VERSION = "main@2026-08-19"


def label(version: str | None) -> str:
    """The version named in messages: only one version is modelled, so an asked one is shown beside it."""
    return f"{VERSION} (asked: {version}; no version differences modelled)" if version else VERSION


ENTRY_POINTS = ("start_rlvr_pipeline.py", "start_agentic_pipeline.py")
_LOSS = {
    "token-mean": "token_mean",
    "seq-mean-token-sum": "seq_mean_token_sum",
    "seq-mean-token-mean": "seq_mean_token_mean",
    "seq-mean-token-sum-norm": "seq_mean_token_sum_norm",
}
# keys that appear in ROLL example YAMLs but are not fields of its config dataclasses; the launcher builds the
# config with a non-strict dacite.from_dict, so they vanish without a word
_NOT_FIELDS = ("reward_norm", "reward_shift", "reward_scale")
_DISTINCT = (
    "adv_estimator",
    "num_return_sequences_in_group",
    "whiten_advantages",
    "norm_mean_type",
    "norm_std_type",
    "add_token_level_kl",
    "use_pg_clip_range",
    "reward_normalization",
)
_LEVELS = {None: "none", "batch": "batch", "group": "group", "running": "running"}


def detect(text: str, path: str | None) -> float:
    if mentions(text, ENTRY_POINTS):
        return 0.95
    raw = try_parse(text)
    if not raw:
        return 0.0
    roles = sum(k in raw for k in ("actor_train", "actor_infer", "train_env_manager"))
    if roles and ("adv_estimator" in raw or "pg_clip" in raw or "rollout_batch_size" in raw):
        return 0.95
    # flat algorithm keys at the top level are ROLL's alone (verl nests adv_estimator under `algorithm`)
    if any(k in raw for k in _DISTINCT):
        return 0.9
    return 0.5 if roles else 0.0


def _level(src: Source, key: str) -> str:
    v = src.raw(key)
    if v not in _LEVELS:
        raise src._bad(key, "one of batch, group, running, null")
    return _LEVELS[v]


def _agentic_norm(src: Source) -> tuple[str, str, tuple[str, str]]:
    """The agentic reward stage: explicit norm types win over the deprecated `method` (ROLL's __post_init__)."""
    rn = "reward_normalization"
    method = src.str_(f"{rn}.method", "identity") or "identity"
    if method not in ("identity", "mean", "mean_std", "asym_clip"):
        method = "identity"  # ROLL warns and falls back
    level = "batch" if (src.str_(f"{rn}.grouping", "batch") or "batch").lower() == "batch" else "group"
    derived_mean = level if method != "identity" else "none"
    derived_std = level if method in ("mean_std", "asym_clip") else "none"
    mean = (
        _level(src, f"{rn}.norm_mean_type") if src.raw(f"{rn}.norm_mean_type") is not None else derived_mean
    )
    std = _level(src, f"{rn}.norm_std_type") if src.raw(f"{rn}.norm_std_type") is not None else derived_std
    keys = (
        f"{rn}.norm_mean_type" if src.written(f"{rn}.norm_mean_type") else f"{rn}.method",
        f"{rn}.norm_std_type" if src.written(f"{rn}.norm_std_type") else f"{rn}.method",
    )
    return mean, std, keys


def map_source(src: Source, version: str | None = None) -> Mapped:
    agentic = src.has("train_env_manager")
    est = src.str_("adv_estimator", "gae") or "gae"
    if agentic:
        mean, std, norm_keys = _agentic_norm(src)
    else:
        mean, std = _level(src, "norm_mean_type"), _level(src, "norm_std_type")
        norm_keys = ("norm_mean_type", "norm_std_type")
    whiten = src.bool_("whiten_advantages", False)
    c = Concepts(framework=NAME, framework_version=label(version), std_eps=1e-6, std_unbiased=True)
    c.group_mean, c.group_norm_std = False, False
    c.estimator_declared = est != "reinforce" and not agentic
    if agentic and est in ("grpo", "reinforce"):
        est = "reinforce"  # agentic grpo/reinforce = a REINFORCE return on the normalized reward; no forcing
    if est == "grpo":
        # reward_postprocess resets both norm types to `group` for grpo, whatever the file says
        c.no_std_requested = (src.written(norm_keys[1]) or src.has(norm_keys[1])) and std != "group"
        c.estimator, c.group_mean, c.group_norm_std = "grpo", True, True
        mean = std = "group"
        c.batch_whitening = BatchWhitening(mean=whiten, std=whiten, scope="tokens")
    elif est == "reinforce":
        if mean == "group" and std == "group":
            c.estimator, c.group_mean, c.group_norm_std = "grpo", True, True
            c.batch_whitening = BatchWhitening(mean=whiten, std=whiten, scope="tokens")
        elif mean == "group":
            c.estimator = "reinforce_pp_baseline" if whiten else "drgrpo"
            c.group_mean = True
            c.batch_whitening = BatchWhitening(mean=whiten, std=whiten, scope="tokens", intrinsic=whiten)
        else:
            c.estimator = "reinforce_pp" if whiten else "reinforce"
            c.batch_whitening = BatchWhitening(mean=whiten, std=whiten, scope="tokens", intrinsic=whiten)
    elif est == "gae":
        c.estimator = "gae"
        c.batch_whitening = BatchWhitening(mean=whiten, std=whiten, scope="tokens", intrinsic=True)
    else:
        c.estimator = "other"
    c.reward_norm = RewardNorm(mean=mean, std=std)  # type: ignore[arg-type]
    c.token_reward_whiten = src.bool_("whiten_rewards", False)
    mode = src.str_("loss_agg_mode", "seq-mean-token-mean") or "seq-mean-token-mean"
    if mode not in _LOSS:
        raise src._bad("loss_agg_mode", f"one of {', '.join(_LOSS)}")
    c.loss_agg = _LOSS[mode]  # type: ignore[assignment]
    c.length_norm_constant = None  # seq-mean-token-sum-norm uses the padded length
    g_key = "train_env_manager.group_size" if agentic else "num_return_sequences_in_group"
    c.group_size = src.int_(g_key, 1) or 0
    gen = "actor_infer.generating_args"
    c.temperature = src.float_(f"{gen}.temperature", 0.95) or 0.0
    c.greedy = not src.bool_(f"{gen}.do_sample", True)
    in_reward = src.bool_("add_token_level_kl", False)
    kl_init = src.float_("init_kl_coef", 0.2) or 0.0
    in_loss = src.bool_("use_kl_loss", False)
    c.kl_in_reward, c.kl_reward_coef = in_reward and kl_init > 0, kl_init if in_reward else 0.0
    # compute_token_reward subtracts the per-token KL from the already normalized reward (both pipelines)
    c.kl_after_norm = True
    c.kl_in_loss, c.kl_loss_coef = in_loss, src.float_("kl_loss_coef", 0.0) or 0.0
    c.kl_estimator = "k3" if in_loss else "k1"
    # init_kl_coef > 0 and use_kl_loss both force enable_reference
    c.use_ref = src.bool_("enable_reference", False) or in_loss or kl_init > 0
    pg = src.float_("pg_clip", 0.2)
    if src.bool_("use_pg_clip_range", False):
        c.clip_low, c.clip_high = src.float_("pg_clip_low", 0.2), src.float_("pg_clip_high", 0.2)
    else:
        c.clip_low = c.clip_high = pg
    c.advantage_clip = src.float_("advantage_clip", None)
    c.gamma = src.float_("gamma", 1.0) or 0.0
    c.lam = src.float_("lambd", 0.95) or 0.0
    c.gamma_used_by_estimator = est in ("grpo", "reinforce", "gae")
    c.gamma_per_token = est in ("grpo", "reinforce")
    c.entropy_coef = src.float_("entropy_loss_coef", 0.0) or 0.0
    prompts = src.int_("rollout_batch_size", 128)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * c.group_size if prompts else None
    c.positional_grouping = False
    c.multi_turn = agentic

    o = c.origins
    for concept in ("estimator", "group_mean"):
        o[concept] = src.origin("adv_estimator")
    o["group_norm_std"] = src.origin(norm_keys[1]) if est != "grpo" else src.origin("adv_estimator")
    if agentic:
        o["estimator"] = o["group_mean"] = src.origin(norm_keys[0])
    o["no_std_requested"] = src.origin(norm_keys[1])
    o["batch_whitening"] = src.origin("whiten_advantages")
    o["token_reward_whiten"] = src.origin("whiten_rewards")
    o["loss_agg"] = src.origin("loss_agg_mode")
    o["length_norm_constant"] = src.origin("loss_agg_mode")
    o["group_size"] = src.origin(g_key)
    o["temperature"] = src.origin(f"{gen}.temperature")
    o["greedy"] = src.origin(f"{gen}.do_sample")
    o["kl_reward_coef"] = src.origin("init_kl_coef")
    o["kl_loss_coef"] = src.origin("kl_loss_coef")
    o["use_ref"] = src.origin("enable_reference")
    o["clip_low"] = src.origin("pg_clip_low" if src.written("pg_clip_low") else "pg_clip")
    o["clip_high"] = src.origin("pg_clip_high" if src.written("pg_clip_high") else "pg_clip")
    o["advantage_clip"] = src.origin("advantage_clip")
    o["gamma"] = src.origin("gamma")
    o["std_eps"] = src.fixed("adv_estimator", "group std epsilon (fixed at 1e-6 in ROLL)")

    def dead(key: str, why: str) -> None:
        c.dead_keys.append((key, why))
        o[f"dead:{key}"] = src.origin(key)

    if src.bool_("use_reward_norm", False) and not src.bool_("use_reward_scaling", False):
        dead("use_reward_norm", "it only acts when `use_reward_scaling` is true")
    for key in _NOT_FIELDS:
        if src.has(key):
            dead(key, "it is not a field of ROLL's config; the non-strict loader drops it silently")
    if kl_init > 0 and not in_reward and not in_loss:
        dead(
            "init_kl_coef",
            f"it is {kl_init:g} with `add_token_level_kl` and `use_kl_loss` off: it only forces a reference "
            "model that is loaded and never used (set it to 0)",
        )
    _map_2026(src, c, agentic, dead)
    return Mapped(concepts=c)


def _map_2026(src: Source, c: Concepts, agentic: bool, dead: Callable[[str, str], None]) -> None:
    """pg_variant and its worker, reward clip, async generation, train-infer correction, steps per batch."""
    o = c.origins
    worker = src.str_("actor_train.worker_cls", None) or ""
    pg_worker = "PGWorker" in worker
    variant = src.str_("actor_train.pg_variant", None)
    if pg_worker and variant is None:
        c.unclipped_pg_default = True
        c.policy_loss = "vanilla_pg"
        o["unclipped_pg_default"] = src.origin("actor_train.worker_cls")
    elif pg_worker:
        c.policy_loss = {"vanilla": "vanilla_pg", "ppo": "ppo", "cispo": "cispo"}.get(variant or "", "other")  # type: ignore[assignment]
        o["policy_loss"] = src.origin("actor_train.pg_variant")
    elif variant is not None:
        dead(
            "actor_train.pg_variant",
            f"only the policy-gradient worker (`ActorPGWorker`) reads it; this config uses "
            f"{worker.rsplit('.', 1)[-1] or 'the default ActorWorker'}",
        )
    if c.policy_loss == "vanilla_pg":
        c.clip_low = c.clip_high = None
    elif not pg_worker and src.str_("importance_sampling", "token") == "seq":
        # the RLVR ActorWorker's `seq` ratio: exp of the mean token log-ratio of the sequence (GSPO's ratio)
        c.ratio_level = "sequence"
        o["ratio_level"] = src.origin("importance_sampling")
    # both pipelines clip the normalized response-level reward (RLVR reward_postprocess, agentic
    # compute_response_level_rewards)
    c.reward_clip = src.float_("reward_clip", None)
    c.reward_clip_stage = (
        "after_norm" if c.reward_norm.mean != "none" or c.reward_norm.std != "none" else "raw"
    )
    o["reward_clip"] = src.origin("reward_clip")
    tic = "train_infer_correction.is_weight.enabled"
    c.sampler_is_correction = src.bool_(tic, False)
    o["sampler_is_correction"] = src.origin(tic)
    gen = "actor_infer.generating_args"
    filters = []
    top_p = src.float_(f"{gen}.top_p", 0.7)
    if top_p is not None and top_p < 1:
        filters.append((src.origin(f"{gen}.top_p").key, f"{top_p:g}"))
    top_k = src.int_(f"{gen}.top_k", None)
    if top_k is not None and top_k > 0:
        filters.append((src.origin(f"{gen}.top_k").key, f"{top_k}"))
    c.sampling_filters = filters
    o["sampling_filters"] = src.origin(f"{gen}.top_p")
    ratio = src.float_("async_generation_ratio", 0.0) or 0.0
    if ratio > 0:
        c.off_policy = f"async_generation_ratio = {ratio:g}"
        c.off_policy_corrected = c.sampler_is_correction
        o["off_policy"] = src.origin("async_generation_ratio")
    epochs = src.int_("ppo_epochs", 1) or 1
    if epochs > 1:
        c.updates_per_rollout = float(epochs)  # at least; the mini-batch count is per-device, not read here
        c.updates_formula = f"ppo_epochs {epochs} (at least)"
        o["updates_per_rollout"] = src.origin("ppo_epochs")


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    src = yaml_or_script(text, ENTRY_POINTS, "python start_rlvr_pipeline.py ...")
    return map_source(src, version or requested_version())
