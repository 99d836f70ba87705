"""SkyRL: its config tree as YAML (`trainer`, `generator`, `data`, `environment`), or a launch script with
Hydra-style overrides of `-m skyrl_train.entrypoints.main_base` (`trainer.algorithm.advantage_estimator=grpo`).
Defaults are those of SkyRL main as of 2026-08-21 (note `use_kl_loss: true`, `n_samples_per_prompt: 5`)."""

from __future__ import annotations

from training.lint.adapters import Mapped
from training.lint.adapters._shell import mentions
from training.lint.adapters._source import Source
from training.lint.adapters._yaml import try_parse, yaml_or_script
from training.lint.concepts import BatchWhitening, Concepts

NAME = "skyrl"
VERSION = "main@2026-08-21"

ENTRY_POINTS = (
    "skyrl_train.entrypoints.main_base",
    "skyrl.train.entrypoints.main_base",
    "main_base.py",
    "main_base",
)
_T = "trainer.algorithm"
_S = "generator.sampling_params"
_LOSS = {
    "token_mean": "token_mean",
    "token_mean_legacy": "token_mean",
    "prompt_mean": "token_mean",
    "sequence_mean": "seq_mean_token_mean",
    "seq_mean_token_sum_norm": "seq_mean_token_sum_norm",
}


def detect(text: str, path: str | None) -> float:
    if mentions(text, ("skyrl_train", "skyrl.train")):
        return 0.95
    raw = try_parse(text)
    if raw:
        t = raw.get("trainer")
        if isinstance(t, dict) and "generator" in raw and isinstance(t.get("algorithm"), dict):
            return 0.9
        return 0.0
    return 0.6 if "trainer.algorithm." in text and "generator." in text else 0.0


def map_source(src: Source) -> Mapped:
    est = src.str_(f"{_T}.advantage_estimator", "grpo") or "grpo"
    by_std = src.bool_(f"{_T}.grpo_norm_by_std", True)
    extra = src.bool_(f"{_T}.advantage_batch_normalize", False)
    n = src.int_("generator.n_samples_per_prompt", 5) or 0
    c = Concepts(framework=NAME, framework_version=VERSION, std_eps=1e-6, std_unbiased=True)
    c.group_mean, c.group_norm_std = False, False
    if est == "grpo":
        c.estimator = "grpo" if by_std else "drgrpo"
        c.group_mean, c.group_norm_std = n >= 2, by_std and n >= 2  # a singleton group: mean 0, std 1
    elif est == "rloo":
        c.estimator, c.group_mean = "rloo", True
    elif est == "reinforce++":
        c.estimator = "reinforce_pp"
    elif est == "gae":
        c.estimator = "gae"
    else:
        c.estimator = "other"
    c.no_std_requested = not by_std
    c.no_std_unused = not by_std and est != "grpo"
    intrinsic = est == "reinforce++"
    if intrinsic or extra:
        c.batch_whitening = BatchWhitening(
            mean=True, std=True, scope="tokens", intrinsic=intrinsic, extra=intrinsic and extra
        )
    red = src.str_(f"{_T}.loss_reduction", "token_mean") or "token_mean"
    if red not in _LOSS:
        raise src._bad(f"{_T}.loss_reduction", f"one of {', '.join(_LOSS)}")
    c.loss_agg = _LOSS[red]  # type: ignore[assignment]
    c.length_norm_constant = src.int_(f"{_T}.max_seq_len", None)
    c.group_size = n
    c.temperature = src.float_(f"{_S}.temperature", 1.0) or 0.0
    c.logprob_temperature = src.float_(f"{_T}.temperature", None)
    c.eval_group_size = src.int_("generator.eval_n_samples_per_prompt", 1)
    c.eval_greedy = src.float_("generator.eval_sampling_params.temperature", 1.0) == 0
    in_reward = src.bool_(f"{_T}.use_kl_in_reward", False)
    in_loss = src.bool_(f"{_T}.use_kl_loss", True)
    coef = src.float_(f"{_T}.kl_loss_coef", 0.001) or 0.0
    c.kl_in_loss, c.kl_loss_coef = in_loss, coef if in_loss else 0.0
    c.kl_in_reward, c.kl_reward_coef = in_reward, coef if in_reward else 0.0  # starts from kl_loss_coef
    c.kl_estimator = src.str_(f"{_T}.kl_estimator_type", "k3") or "k3"
    c.use_ref = in_loss or in_reward
    c.clip_low = src.float_(f"{_T}.eps_clip_low", 0.2)
    c.clip_high = src.float_(f"{_T}.eps_clip_high", 0.2)
    c.clip_dual = src.float_(f"{_T}.clip_ratio_c", 3.0)
    c.gamma = src.float_(f"{_T}.gamma", 1.0) or 0.0
    c.lam = src.float_(f"{_T}.lambd", 1.0) or 0.0
    c.gamma_used_by_estimator = est in ("gae", "reinforce++")
    c.gamma_per_token = est == "reinforce++"
    c.entropy_enabled = src.bool_(f"{_T}.use_entropy_loss", False)
    c.entropy_coef = (src.float_(f"{_T}.entropy_loss_coef", 0.01) or 0.0) if c.entropy_enabled else 0.0
    c.zero_variance_filter = src.bool_(f"{_T}.zero_variance_filter", False)
    prompts = src.int_("trainer.train_batch_size", 1024)
    c.rollout_prompts = prompts
    c.rollout_samples = prompts * n if prompts else None
    c.positional_grouping = False  # groups are keyed by prompt uid
    o = c.origins
    for concept in ("estimator", "group_mean"):
        o[concept] = src.origin(f"{_T}.advantage_estimator")
    for concept in ("group_norm_std", "no_std_requested"):
        o[concept] = src.origin(f"{_T}.grpo_norm_by_std")
    o["batch_whitening"] = src.origin(
        f"{_T}.advantage_batch_normalize" if extra or not intrinsic else f"{_T}.advantage_estimator"
    )
    o["loss_agg"] = src.origin(f"{_T}.loss_reduction")
    o["length_norm_constant"] = src.origin(f"{_T}.max_seq_len")
    o["group_size"] = src.origin("generator.n_samples_per_prompt")
    o["temperature"] = src.origin(f"{_S}.temperature")
    o["logprob_temperature"] = src.origin(f"{_T}.temperature")
    o["eval_group_size"] = src.origin("generator.eval_n_samples_per_prompt")
    o["eval_greedy"] = src.origin("generator.eval_sampling_params.temperature")
    o["kl_loss_coef"] = o["kl_reward_coef"] = src.origin(f"{_T}.kl_loss_coef")
    o["use_ref"] = src.origin(f"{_T}.use_kl_loss")
    o["kl_estimator"] = src.origin(f"{_T}.kl_estimator_type")
    o["clip_low"] = src.origin(f"{_T}.eps_clip_low")
    o["clip_high"] = src.origin(f"{_T}.eps_clip_high")
    o["clip_dual"] = src.origin(f"{_T}.clip_ratio_c")
    o["gamma"] = src.origin(f"{_T}.gamma")
    o["std_eps"] = src.fixed(f"{_T}.advantage_estimator", "group std epsilon (fixed at 1e-6 in SkyRL)")
    o["rollout_samples"] = src.origin("trainer.train_batch_size")
    key = f"{_T}.entropy_loss_coef"
    if src.written(key) and not c.entropy_enabled:
        c.dead_keys.append((key, f"`{_T}.use_entropy_loss` is false"))
        o[f"dead:{key}"] = src.origin(key)
    return Mapped(concepts=c)


def map_text(text: str, path: str | None) -> Mapped:
    return map_source(yaml_or_script(text, ENTRY_POINTS, "-m skyrl_train.entrypoints.main_base ..."))
