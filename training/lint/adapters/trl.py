"""TRL: a YAML/JSON file of `GRPOConfig` fields, as given to `trl grpo --config` or `TrlParser`; a Python training
script (`GRPOConfig(...)`, read from its AST); or a launch script that runs a training script with GRPOConfig's
fields as flags (`torchrun … src/open_r1/grpo.py --num_generations 8 …`, `accelerate launch train.py --config
recipe.yaml --beta 0.04`, `trl grpo …`): the flags win over the `--config` file, which is read when the script is
linted from disk.

Fields are flat. Defaults are those of TRL 1.16 (`loss_type: dapo`, `scale_rewards: group`, `beta: 0.0`,
`max_completion_length: 512`). `--framework-version` below 1.10 (or a date before 2026-07-15) switches to the
older defaults: `max_completion_length: 256` and the `mask_truncated_completions` denominator before PR #6439.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from training.config_io import ConfigError
from training.lint.adapters import Mapped, _python
from training.lint.adapters._shell import Command, flag_source, tokenize
from training.lint.adapters._source import Entry, Source, current_reading, nothing_to_lint
from training.lint.adapters._yaml import base_config, try_parse, yaml_source
from training.lint.concepts import BatchWhitening, Change, Concepts, requested_version

NAME = "trl"
VERSION = "1.16"
#: PR #6264 (max_completion_length 256 → 512) and PR #6439 (mask_truncated_completions denominator), both
#: merged in July 2026; 1.10 is taken as the first release after them (its dev version was on main on
#: 2026-07-24), an approximation: pass a date with --framework-version to be exact.
CHANGE_2026_07 = Change(date="2026-07-15", release="1.10")

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
    "sapo": "seq_mean_token_mean",  # aggregated like grpo: per-sequence mean, then mean
    "luspo": "seq_mean_token_sum",  # per-sequence loss × length
    "vespo": "token_mean",
}
_POLICY_LOSS = {"cispo": "cispo", "sapo": "sapo", "luspo": "luspo", "vespo": "vespo"}
# sampling filters and their neutral values (the same keys inside `generation_kwargs` override them)
_FILTERS: tuple[tuple[str, Any], ...] = (
    ("top_p", 1.0),
    ("top_k", 0),
    ("min_p", None),
    ("repetition_penalty", 1.0),
)


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
        return _detect_launch(text)
    keys = set(raw)
    if any(isinstance(v, dict) for k, v in raw.items() if k not in _MAPPING_FIELDS):
        return 0.1  # nested sections: a Hydra-style config, not GRPOConfig fields
    hits = len(keys & _DISTINCT)
    if hits >= 2 or "num_generations" in keys or "scale_rewards" in keys:
        return 0.9
    if hits == 1:
        return 0.7
    return 0.35 if keys & _TRAINING_ARGS else 0.0


def _detect_launch(text: str) -> float:
    """A launch script: how sure that its Python command takes GRPOConfig's fields as flags."""
    if "--" not in text or not any(f"--{k}" in text for k in _DISTINCT):
        return 0.0  # cheap: no GRPOConfig flag is written anywhere
    try:
        cmd = _launch_command(tokenize(text))
    except ConfigError:  # an unreadable script: the adapters that can say why report it
        return 0.0
    if cmd is None:
        return 0.0
    hits = _flag_names(cmd) & _DISTINCT
    return 0.9 if "num_generations" in hits or len(hits) >= 2 else 0.7


def _flag_names(cmd: Command) -> set[str]:
    return {a.text[2:].split("=", 1)[0].replace("-", "_") for a in cmd.args if a.text.startswith("--")}


def _launch_command(statements: list[list[Any]], strict: bool = True) -> Command | None:
    """The first command that runs a Python training script (after any launcher: python, torchrun, accelerate
    launch, deepspeed) or `trl grpo`, and passes it at least one GRPOConfig-only flag or a `--config` file (not
    `strict`, once the format is decided: any flag, e.g. a script that passes only TrainingArguments fields)."""
    for words in statements:
        for i, w in enumerate(words):
            if w.unknown:
                continue
            is_cli = w.text.rsplit("/", 1)[-1] == "trl" and i + 1 < len(words) and words[i + 1].text == "grpo"
            if not (w.text.endswith(".py") or is_cli):
                continue
            args = words[i + (2 if is_cli else 1) :]
            cmd = Command(program=w, args=args, opaque=[a for a in args if a.opaque])
            names = _flag_names(cmd)
            if names & _DISTINCT or "config" in names or (names and not strict):
                return cmd
            break  # this statement runs another program
    return None


def launch_source(text: str) -> Source:
    """The GRPOConfig fields of a launch script's training command: its `--config` file, then its flags."""
    cmd = _launch_command(tokenize(text), strict=False)
    if cmd is None:
        raise nothing_to_lint(
            "a `python train.py --num_generations ...` (TrlParser), `accelerate launch ...` or `trl grpo ...` command"
        )
    r = current_reading()
    if r is not None:  # a trainer command was found, even if every field it sets keeps its default
        r.commands = [(cmd.program.line, cmd.program.column)]
    flags = flag_source(cmd)
    base, unseen = base_config(cmd.args, cmd.program.text)
    flags.entries.pop("config", None)
    from_flags = set(flags.entries)
    base.entries.update(flags.entries)
    base.anchor = flags.anchor
    base.unseen = unseen or flags.unseen
    base.display = lambda n: f"--{n}" if n in from_flags else n
    return base


def _scale(src: Source) -> str:
    v = src.raw("scale_rewards", "group")
    if v is True or v in ("true", "True", "group"):
        return "group"
    if v is False or v is None or v in ("false", "False", "none"):
        return "none"
    if v == "batch":
        return "batch"
    raise src._bad("scale_rewards", "one of group, batch, none (or true/false)")


def _era(version: str) -> bool:
    """True when `version` has the July-2026 changes (an unplaceable version counts as the modelled 1.16)."""
    has = CHANGE_2026_07.applies(version)
    return True if has is None else has


def _filters(src: Source) -> list[tuple[str, str]]:
    found = []
    for key, neutral in _FILTERS:
        for name in (key, f"generation_kwargs.{key}"):
            v = src.int_(name, neutral) if key == "top_k" else src.float_(name, neutral)
            if v is None or v == neutral or (key == "top_k" and v <= 0):  # top_k ≤ 0: no top-k filter
                continue
            if not math.isfinite(v):
                raise src._bad(name, "a finite number")
            found.append((src.origin(name).key, f"{v:g}"))
    return found


def _flatten_kwargs(src: Source) -> None:
    """A Python script's `generation_kwargs={...}` is one entry; give its items dotted keys, as YAML does."""
    e = src.entries.get("generation_kwargs")
    if e is None or not isinstance(e.value, dict):
        return
    for k, v in e.value.items():
        src.entries.setdefault(
            f"generation_kwargs.{k}",
            Entry(v, f"generation_kwargs[{k!r}]", e.line, e.column, e.pointer, e.file),
        )


def map_source(src: Source, version: str | None = None) -> Mapped:
    version = version or VERSION
    new = _era(version)
    _flatten_kwargs(src)
    scale = _scale(src)
    loss_type = src.str_("loss_type", "dapo") or "dapo"
    if loss_type not in _LOSS:
        raise src._bad("loss_type", f"one of {', '.join(_LOSS)}")
    g = src.int_("num_generations", 8) or 8
    beta = src.float_("beta", 0.0) or 0.0
    eps = src.float_("epsilon", 0.2)
    eps_high = src.float_("epsilon_high", None)
    gdpo = src.str_("multi_objective_aggregation", "sum_then_normalize") == "normalize_then_sum"
    # advantages are Dr. GRPO's only when the std division is really gone (loss_type alone keeps it);
    # normalize_then_sum divides every reward by its group std whatever `scale_rewards` says
    drgrpo = scale == "none" and not gdpo
    c = Concepts(
        framework=NAME,
        framework_version=version,
        estimator="drgrpo" if drgrpo else "grpo",
        group_mean=True,
        group_norm_std=scale == "group" or gdpo,
        no_std_requested=scale == "none",
        # GDPO: per-reward group z-scores, then one batch z-score of the sum (a published design)
        batch_whitening=BatchWhitening(mean=gdpo, std=gdpo, scope="batch", intrinsic=gdpo),
        std_eps=1e-4,
        std_unbiased=True,
        loss_agg=_LOSS[loss_type],  # type: ignore[arg-type]
        length_norm_constant=src.int_("max_completion_length", 512) if loss_type == "dr_grpo" else None,
        group_size=g,
        temperature=src.float_("generation_kwargs.temperature", None)
        or src.float_("temperature", 1.0)
        or 0.0,
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
    if gdpo:
        o["estimator"] = o["group_norm_std"] = src.origin("multi_objective_aggregation")
    _map_2026(src, c, loss_type, new)
    o["batch_whitening"] = src.origin("multi_objective_aggregation")
    o["loss_agg"] = src.origin("loss_type")
    o["length_norm_constant"] = src.origin("max_completion_length")
    o["group_size"] = src.origin("num_generations")
    o["temperature"] = src.origin(
        "generation_kwargs.temperature" if src.written("generation_kwargs.temperature") else "temperature"
    )
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


def _map_2026(src: Source, c: Concepts, loss_type: str, new: bool) -> None:
    """Policy loss, IS correction, sampling filters, steps per generation, budget and dead keys (TRL 1.16)."""
    o = c.origins
    c.policy_loss = _POLICY_LOSS.get(loss_type, "ppo")  # type: ignore[assignment]
    level = src.str_("importance_sampling_level", "token") or "token"
    if level not in ("token", "sequence"):
        raise src._bad("importance_sampling_level", "token or sequence")
    c.ratio_level = level  # type: ignore[assignment]
    o["ratio_level"] = src.origin("importance_sampling_level")
    o["policy_loss"] = src.origin("loss_type")
    eps = src.float_("epsilon", 0.2)
    eps_high = src.float_("epsilon_high", None)
    for key, value in (("epsilon", eps), ("epsilon_high", eps_high)):
        if value is not None and not math.isfinite(value):
            raise src._bad(key, "a finite number")
    if loss_type == "cispo":
        # `epsilon_high` (falling back to `epsilon`) is an absolute cap on the detached IS weight
        c.is_weight_bounds = (0.0, eps_high if eps_high is not None else (eps or 0.0))
        if src.written("epsilon_high"):
            o["is_weight_bounds"] = src.origin("epsilon_high")
        else:  # the error is the choice of cispo without a cap: point at `loss_type`
            o["is_weight_bounds"] = replace(src.origin("loss_type"), key="epsilon_high unset, so epsilon")
        c.clip_low = c.clip_high = None  # no PPO clip in this loss
    # the generation kwargs override the sampling params, while log-probs are taken at `temperature`
    if src.written("generation_kwargs.temperature"):
        c.logprob_temperature = src.float_("temperature", 1.0)
        o["logprob_temperature"] = src.origin("temperature")
    c.sampling_filters = _filters(src)
    first = next((k for k, _ in _FILTERS if src.written(k)), None)
    o["sampling_filters"] = src.origin(first or f"generation_kwargs.{_FILTERS[0][0]}")
    use_vllm = src.bool_("use_vllm", False)
    is_on = use_vllm and src.bool_("vllm_importance_sampling_correction", True)
    c.sampler_is_correction = is_on or src.written("off_policy_mask_threshold")
    if is_on:
        written = src.written("vllm_importance_sampling_correction")
        o["sampler_is_correction"] = src.origin(
            "vllm_importance_sampling_correction" if written else "use_vllm"
        )
    else:
        o["sampler_is_correction"] = src.origin("off_policy_mask_threshold")
    # optimizer steps per generation batch: num_iterations × steps_per_generation / gradient_accumulation_steps
    if not src.written("generation_batch_size"):
        iters = src.int_("num_iterations", 1) or 1
        ga = src.int_("gradient_accumulation_steps", 1) or 1
        spg = src.int_("steps_per_generation", None) or ga
        c.updates_per_rollout = iters * spg / ga
        c.updates_formula = (
            f"num_iterations {iters} × steps_per_generation {spg} / gradient_accumulation_steps {ga}"
        )
        o["updates_per_rollout"] = src.origin("num_iterations")
    inert = []
    if loss_type != "cispo" and eps_high is not None and eps_high != eps:
        inert.append("`epsilon_high`")
    if src.written("delta"):
        inert.append("`delta`")
    if loss_type == "cispo":
        inert.append("the CISPO cap")
    c.off_policy_only_settings = inert
    # completion budget: 512 since PR #6264, 256 before
    c.max_completion_tokens = src.int_("max_completion_length", 512 if new else 256)
    o["max_completion_tokens"] = src.origin("max_completion_length")
    if not src.written("max_completion_length"):
        c.budget_default_changed = (
            f"That is TRL {c.framework_version}'s default; PR #6264 (2026-07) raised it from 256 to 512, so the "
            "same file gets another budget on another version."
        )
    c.truncation_masked = src.bool_("mask_truncated_completions", False)
    if c.truncation_masked and loss_type in ("dapo", "cispo", "vespo"):
        key = "mask_truncated_completions"
        assumed = "fixed" if new else "diluted"
        c.version_notes.append(
            (
                key,
                f"with `loss_type: {loss_type}` the loss denominator still counted the masked tokens before TRL PR "
                "#6439 (2026-07), diluting the loss by the share of truncated completions; since then it excludes "
                f"them. Linted as TRL {c.framework_version} ({assumed} denominator).",
            )
        )
        o[f"version:{key}"] = src.origin(key)
    _dead_2026(src, c, loss_type)


def _dead_2026(src: Source, c: Concepts, loss_type: str) -> None:
    beta = src.float_("beta", 0.0) or 0.0

    def dead(key: str, why: str) -> None:
        c.dead_keys.append((key, why))
        c.origins[f"dead:{key}"] = src.origin(key)

    if beta == 0 and src.written("use_bias_correction_kl") and src.bool_("use_bias_correction_kl", True):
        dead("use_bias_correction_kl", "it weights the KL term, and with beta 0 there is no KL term")
    if src.bool_("use_adaptive_entropy", False) and not src.written("entropy_target"):
        dead(
            "use_adaptive_entropy",
            "with the default `entropy_target` (0.2 nats) TRL's own help says it almost never triggers",
        )
    if not src.bool_("sync_ref_model", False):
        for key in ("ref_model_mixup_alpha", "ref_model_sync_steps"):
            if src.written(key):
                dead(key, "it is read only with `sync_ref_model: true`")
    if loss_type == "sapo":
        for key in ("epsilon", "epsilon_high"):
            if src.written(key):
                dead(
                    key, "`loss_type: sapo` replaces the clip by a sigmoid gate (`sapo_temperature_pos/neg`)"
                )


def map_text(text: str, path: str | None, version: str | None = None) -> Mapped:
    version = version or requested_version()
    if _python.is_python(text, path):  # a training script: GRPOConfig(...) / TrlParser, read from its AST
        return map_source(_python.python_source(text), version)
    if try_parse(text) is None:  # not a mapping: a launch script
        return map_source(launch_source(text), version)
    return map_source(yaml_source(text), version)
