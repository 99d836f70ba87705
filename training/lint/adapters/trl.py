"""TRL: a YAML/JSON file of `GRPOConfig` fields, as given to `trl grpo --config` or `TrlParser`.

Fields are flat. Defaults are those of TRL 1.16 (`loss_type: dapo`, `scale_rewards: group`, `beta: 0.0`).
"""

from __future__ import annotations

from training.lint.adapters import Mapped, _python
from training.lint.adapters._source import Source
from training.lint.adapters._yaml import try_parse, yaml_source
from training.lint.concepts import BatchWhitening, Concepts

NAME = "trl"
VERSION = "1.16"

# fields only GRPOConfig has (TrainingArguments-only keys such as learning_rate are shared with others)
_DISTINCT = {
    "num_generations",
    "scale_rewards",
    "loss_type",
    "epsilon_high",
    "max_completion_length",
    "use_vllm",
    "vllm_mode",
    "num_iterations",
    "mask_truncated_completions",
    "reward_funcs",
    "generation_batch_size",
    "steps_per_generation",
    "multi_objective_aggregation",
    "importance_sampling_level",
}
_TRAINING_ARGS = {"per_device_train_batch_size", "gradient_accumulation_steps", "learning_rate", "output_dir"}

_LOSS = {
    "grpo": "seq_mean_token_mean",
    "bnpo": "token_mean_local",
    "dapo": "token_mean",
    "cispo": "token_mean",
    "dr_grpo": "seq_mean_token_sum_norm",
    "sapo": "token_mean",
    "luspo": "token_mean",
    "vespo": "token_mean",
}


# TrainingArguments/GRPOConfig fields whose value is itself a mapping (open-r1 recipes set the first two)
_MAPPING_FIELDS = {
    "gradient_checkpointing_kwargs",
    "lr_scheduler_kwargs",
    "model_init_kwargs",
    "generation_kwargs",
    "chat_template_kwargs",
    "vllm_server_kwargs",
    "fsdp_config",
    "accelerator_config",
    "deepspeed",
    "reward_weights",
}


def detect(text: str, path: str | None) -> float:
    if _python.is_python(text, path):
        return _python.detect(text, path)
    raw = try_parse(text)
    if not raw:
        return 0.0
    keys = set(raw)
    if any(isinstance(v, dict) for k, v in raw.items() if k not in _MAPPING_FIELDS):
        return 0.1  # nested sections: a Hydra-style config, not GRPOConfig fields
    hits = len(keys & _DISTINCT)
    if hits >= 2 or "num_generations" in keys or "scale_rewards" in keys:
        return 0.9
    if hits == 1:
        return 0.7
    return 0.35 if keys & _TRAINING_ARGS else 0.0


def _scale(src: Source) -> str:
    v = src.raw("scale_rewards", "group")
    if v is True or v in ("true", "True", "group"):
        return "group"
    if v is False or v is None or v in ("false", "False", "none"):
        return "none"
    if v == "batch":
        return "batch"
    raise src._bad("scale_rewards", "one of group, batch, none (or true/false)")


def map_source(src: Source) -> Mapped:
    scale = _scale(src)
    loss_type = src.str_("loss_type", "dapo") or "dapo"
    if loss_type not in _LOSS:
        raise src._bad("loss_type", f"one of {', '.join(_LOSS)}")
    g = src.int_("num_generations", 8) or 8
    beta = src.float_("beta", 0.0) or 0.0
    eps = src.float_("epsilon", 0.2)
    eps_high = src.float_("epsilon_high", None)
    gdpo = src.str_("multi_objective_aggregation", "sum_then_normalize") == "normalize_then_sum"
    # advantages are Dr. GRPO's only when the std division is really gone (loss_type alone keeps it)
    drgrpo = scale == "none"
    c = Concepts(
        framework=NAME,
        framework_version=VERSION,
        estimator="drgrpo" if drgrpo else "grpo",
        group_mean=True,
        group_norm_std=scale == "group",
        no_std_requested=scale == "none",
        # GDPO: per-reward group z-scores, then one batch z-score of the sum (a published design)
        batch_whitening=BatchWhitening(mean=gdpo, std=gdpo, scope="batch", intrinsic=gdpo),
        std_eps=1e-4,
        std_unbiased=True,
        loss_agg=_LOSS[loss_type],  # type: ignore[arg-type]
        length_norm_constant=src.int_("max_completion_length", 512) if loss_type == "dr_grpo" else None,
        group_size=g,
        temperature=src.float_("temperature", 1.0) or 0.0,
        kl_in_loss=beta > 0,
        kl_loss_coef=beta,
        kl_estimator="k3",
        use_ref=beta > 0,
        entropy_coef=src.float_("entropy_coef", 0.0) or 0.0,
        clip_low=eps,
        clip_high=eps_high if eps_high is not None else eps,
        clip_dual=src.float_("delta", None),
        rollout_samples=src.int_("generation_batch_size", None),
        positional_grouping=True,
        multi_turn=False,
    )
    o = c.origins
    o["estimator"] = src.origin("scale_rewards")  # the key that decides whether the group std is divided
    for concept in ("group_mean", "group_norm_std", "no_std_requested"):
        o[concept] = src.origin("scale_rewards")
    o["batch_whitening"] = src.origin("multi_objective_aggregation")
    o["loss_agg"] = src.origin("loss_type")
    o["length_norm_constant"] = src.origin("max_completion_length")
    o["group_size"] = src.origin("num_generations")
    o["temperature"] = src.origin("temperature")
    for concept in ("kl_loss_coef", "use_ref", "kl_estimator"):
        o[concept] = src.origin("beta")
    o["entropy_coef"] = src.origin("entropy_coef")
    o["clip_low"] = src.origin("epsilon")
    o["clip_high"] = src.origin("epsilon_high" if src.written("epsilon_high") else "epsilon")
    o["clip_dual"] = src.origin("delta")
    o["rollout_samples"] = src.origin("generation_batch_size")
    o["std_eps"] = src.fixed("scale_rewards", "std epsilon (fixed at 1e-4 in TRL)")
    if beta == 0 and src.bool_("sync_ref_model", False):
        c.dead_keys.append(("sync_ref_model", "with beta 0 TRL loads no reference model to sync"))
        o["dead:sync_ref_model"] = src.origin("sync_ref_model")
    return Mapped(concepts=c)


def map_text(text: str, path: str | None) -> Mapped:
    if _python.is_python(text, path):  # a training script: GRPOConfig(...) / TrlParser, read from its AST
        return map_source(_python.python_source(text))
    return map_source(yaml_source(text))
