"""ROLL: a pipeline YAML (RLVR `RLVRConfig` or agentic `AgenticConfig`): flat top-level algorithm keys plus
role sections (`actor_train`, `actor_infer`, `reference`, `rewards`, `train_env_manager`). Hydra overrides of
`start_rlvr_pipeline.py` / `start_agentic_pipeline.py` are read too. Defaults are those of ROLL main as of
2026-08-19.

Two ROLL behaviours this adapter encodes: `adv_estimator: grpo` overwrites `norm_mean_type`/`norm_std_type` with
`group` (so a "no std" request is ignored, GL009), and `grpo`/`reinforce` compute per-token discounted returns
with `gamma`/`lambd` (GL025 for gamma < 1).
"""

from __future__ import annotations

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source
from training.lint.adapters._yaml import try_parse, yaml_or_script
from training.lint.concepts import BatchWhitening, Concepts, RewardNorm

NAME = "roll"
VERSION = "main@2026-08-19"

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


def map_source(src: Source) -> Mapped:
    agentic = src.has("train_env_manager")
    est = src.str_("adv_estimator", "gae") or "gae"
    if agentic and (src.has("reward_normalization.method") or not src.has("norm_mean_type")):
        method = src.str_("reward_normalization.method", None)
        by_state = (src.str_("reward_normalization.grouping", "batch") or "batch") != "batch"
        level = "group" if by_state else "batch"
        mean = level if method in ("mean", "mean_std") else _level(src, "reward_normalization.norm_mean_type")
        std = level if method == "mean_std" else _level(src, "reward_normalization.norm_std_type")
        norm_keys = ("reward_normalization.method", "reward_normalization.method")
    else:
        mean, std = _level(src, "norm_mean_type"), _level(src, "norm_std_type")
        norm_keys = ("norm_mean_type", "norm_std_type")
    whiten = src.bool_("whiten_advantages", False)
    c = Concepts(framework=NAME, framework_version=VERSION, std_eps=1e-6, std_unbiased=True)
    c.group_mean, c.group_norm_std = False, False
    c.estimator_declared = est != "reinforce"
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
    return Mapped(concepts=c)


def map_text(text: str, path: str | None) -> Mapped:
    return map_source(yaml_or_script(text, ENTRY_POINTS, "python start_rlvr_pipeline.py ..."))
