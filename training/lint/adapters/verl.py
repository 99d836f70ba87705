"""verl: Hydra YAML in the shape of `ppo_trainer.yaml`, or a launch script with `key.path=value` overrides of
`python3 -m verl.trainer.main_ppo`. Defaults are those of verl main as of 2026-01-29."""

from __future__ import annotations

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source
from training.lint.adapters._yaml import try_parse, yaml_or_script
from training.lint.concepts import BatchWhitening, Concepts

NAME = "verl"
VERSION = "main@2026-01-29"

ENTRY_POINTS = (
    "verl.trainer.main_ppo",
    "main_ppo.py",
    "recipe.dapo.main_dapo",
    "verl.trainer.main_generation",
)
_A = "actor_rollout_ref.actor"
_R = "actor_rollout_ref.rollout"

_GRPO = {"grpo", "grpo_vectorized", "grpo_passk"}
_LOSS = {
    "token-mean": "token_mean",
    "seq-mean-token-sum": "seq_mean_token_sum",
    "seq-mean-token-mean": "seq_mean_token_mean",
    "seq-mean-token-sum-norm": "seq_mean_token_sum_norm",
}
_KL = {
    "kl": "k1",
    "k1": "k1",
    "mse": "k2",
    "k2": "k2",
    "low_var_kl": "k3",
    "k3": "k3",
    "abs": "abs",
    "full": "full",
}


def detect(text: str, path: str | None) -> float:
    if mentions(text, ENTRY_POINTS):
        return 0.95
    raw = try_parse(text)
    if raw:
        if "actor_rollout_ref" in raw:
            return 0.95
        alg = raw.get("algorithm")
        if isinstance(alg, dict) and ("adv_estimator" in alg or "norm_adv_by_std_in_grpo" in alg):
            return 0.8
        return 0.0
    return 0.6 if "actor_rollout_ref." in text else 0.0


def source(text: str) -> Source:
    return yaml_or_script(text, ENTRY_POINTS, "python3 -m verl.trainer.main_ppo ...")


def map_source(src: Source) -> Mapped:
    est_name = src.str_("algorithm.adv_estimator", "gae") or "gae"
    n = src.int_(f"{_R}.n", 1) or 1
    norm_std = src.bool_("algorithm.norm_adv_by_std_in_grpo", True)
    grpo = est_name in _GRPO
    c = Concepts(framework=NAME, framework_version=VERSION, std_eps=1e-6, std_unbiased=True)
    c.group_mean, c.group_norm_std = False, False
    if grpo:
        c.estimator = "grpo" if norm_std else "drgrpo"
        c.group_norm_std = norm_std and n >= 2
        c.group_mean = n >= 2  # a singleton group gets mean 0, std 1: the raw score passes through
    elif est_name.startswith("rloo"):
        c.estimator, c.group_mean = "rloo", True
    elif est_name == "reinforce_plus_plus":
        c.estimator = "reinforce_pp"
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est_name == "reinforce_plus_plus_baseline":
        c.estimator, c.group_mean = "reinforce_pp_baseline", True
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est_name == "gae":
        c.estimator = "gae"
        c.batch_whitening = BatchWhitening(mean=True, std=True, scope="tokens", intrinsic=True)
    elif est_name in ("remax", "opo", "gpg"):
        c.estimator = est_name  # type: ignore[assignment]
        c.group_mean = est_name in ("opo", "gpg")
    else:
        c.estimator = "other"
    c.no_std_requested = not norm_std
    c.no_std_unused = not norm_std and not grpo
    mode = src.str_(f"{_A}.loss_agg_mode", "token-mean") or "token-mean"
    if mode not in _LOSS:
        raise src._bad(f"{_A}.loss_agg_mode", f"one of {', '.join(_LOSS)}")
    c.loss_agg = _LOSS[mode]  # type: ignore[assignment]
    c.length_norm_constant = src.int_(f"{_A}.loss_scale_factor", None)
    c.group_size = n
    c.temperature = src.float_(f"{_R}.temperature", 1.0) or 0.0
    c.greedy = not src.bool_(f"{_R}.do_sample", True)
    c.eval_greedy = not src.bool_(f"{_R}.val_kwargs.do_sample", False)
    c.eval_group_size = src.int_(f"{_R}.val_kwargs.n", 1)
    # KL: in the reward (algorithm.*) and/or in the loss (actor.*)
    c.kl_in_reward = src.bool_("algorithm.use_kl_in_reward", False)
    c.kl_reward_coef = src.float_("algorithm.kl_ctrl.kl_coef", 0.001) or 0.0
    c.kl_in_loss = src.bool_(f"{_A}.use_kl_loss", False)
    c.kl_loss_coef = src.float_(f"{_A}.kl_loss_coef", 0.001) or 0.0
    kl_type = src.str_(f"{_A}.kl_loss_type", "low_var_kl") or "low_var_kl"
    plus = kl_type.endswith("+")
    c.kl_estimator = _KL.get(kl_type.rstrip("+"), kl_type) + ("+" if plus else "")
    c.use_ref = c.kl_in_reward or c.kl_in_loss
    clip = src.float_(f"{_A}.clip_ratio", 0.2)
    c.clip_low = src.float_(f"{_A}.clip_ratio_low", clip)
    c.clip_high = src.float_(f"{_A}.clip_ratio_high", clip)
    c.clip_dual = src.float_(f"{_A}.clip_ratio_c", 3.0)
    c.gamma = src.float_("algorithm.gamma", 1.0) or 0.0
    c.lam = src.float_("algorithm.lam", 1.0) or 0.0
    c.gamma_used_by_estimator = c.estimator in ("gae", "reinforce_pp")
    c.gamma_per_token = c.estimator == "reinforce_pp"
    c.entropy_coef = src.float_(f"{_A}.entropy_coeff", 0.0) or 0.0
    prompts = src.int_("data.train_batch_size", 1024)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * n if prompts else None
    c.positional_grouping = False  # group statistics are keyed by the prompt uid
    c.multi_turn = src.bool_(f"{_R}.multi_turn.enable", False)
    # without a reward model or a custom function, verl scores with its rule-based checkers (0/1 for gsm8k/math)
    if src.bool_("reward_model.enable", False):
        c.reward_kind = "continuous"
    elif not src.written("custom_reward_function.path"):
        c.reward_kind = "binary"

    o = c.origins
    for concept in ("estimator", "group_mean", "batch_whitening"):
        o[concept] = src.origin("algorithm.adv_estimator")
    for concept in ("group_norm_std", "no_std_requested"):
        o[concept] = src.origin("algorithm.norm_adv_by_std_in_grpo")
    o["loss_agg"] = src.origin(f"{_A}.loss_agg_mode")
    o["length_norm_constant"] = src.origin(f"{_A}.loss_scale_factor")
    o["group_size"] = src.origin(f"{_R}.n")
    o["temperature"] = src.origin(f"{_R}.temperature")
    o["greedy"] = src.origin(f"{_R}.do_sample")
    o["eval_greedy"] = src.origin(f"{_R}.val_kwargs.do_sample")
    o["eval_group_size"] = src.origin(f"{_R}.val_kwargs.n")
    o["kl_reward_coef"] = src.origin("algorithm.kl_ctrl.kl_coef")
    o["kl_loss_coef"] = src.origin(f"{_A}.kl_loss_coef")
    o["kl_estimator"] = src.origin(f"{_A}.kl_loss_type")
    o["use_ref"] = src.origin(f"{_A}.use_kl_loss")
    o["clip_low"] = src.origin(
        f"{_A}.clip_ratio_low" if src.written(f"{_A}.clip_ratio_low") else f"{_A}.clip_ratio"
    )
    o["clip_high"] = src.origin(
        f"{_A}.clip_ratio_high" if src.written(f"{_A}.clip_ratio_high") else f"{_A}.clip_ratio"
    )
    o["clip_dual"] = src.origin(f"{_A}.clip_ratio_c")
    o["gamma"] = src.origin("algorithm.gamma")
    o["entropy_coef"] = src.origin(f"{_A}.entropy_coeff")
    o["rollout_samples"] = src.origin("data.train_batch_size")
    o["reward_kind"] = src.origin("reward_model.enable")
    o["std_eps"] = src.fixed("algorithm.adv_estimator", "group std epsilon (fixed at 1e-6 in verl)")
    for key, switch, on in (
        (f"{_A}.kl_loss_coef", f"{_A}.use_kl_loss", c.kl_in_loss),
        ("algorithm.kl_ctrl.kl_coef", "algorithm.use_kl_in_reward", c.kl_in_reward),
    ):
        if src.written(key) and not on and (src.float_(key, 0.0) or 0.0) > 0:
            c.dead_keys.append((key, f"`{switch}` is false, so this coefficient is never used"))
            o[f"dead:{key}"] = src.origin(key)
    return Mapped(concepts=c)


def map_text(text: str, path: str | None) -> Mapped:
    return map_source(source(text))
