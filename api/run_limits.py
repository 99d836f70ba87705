"""Run-size limits checked at submission (operator settings, service/settings.py): steps, model size, batch
sizes, threads and wall time. A config over a limit is refused with 422 naming the field, the limit and the
setting that raises it, before anything is stored.

Model size is counted where it is knowable without loading weights: a built-in model from its config section,
a local folder (or a hub id already in the HF cache) from its config.json. Otherwise it is unknown, and the
worker's memory limit is what stops a model too big for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.settings import Settings, env_name

_SPECIALS = 4  # the built-in tokenizer's special tokens (training.models.SPECIAL_TOKENS)
_DEFAULT_ALPHABET = 15  # the guessing game's `0123456789<>=;?`


def builtin_params(model: dict[str, Any]) -> int:
    """Parameters of a built-in model: embeddings, attention (q, k, v, o; qwen2 has q/k/v biases), a gated MLP and
    norms per layer."""
    h, layers, mlp = int(model["hidden_size"]), int(model["num_layers"]), int(model["intermediate_size"])
    vocab = (
        _SPECIALS + len(model.get("alphabet") or "")
        if model.get("alphabet")
        else _SPECIALS + _DEFAULT_ALPHABET
    )
    embeddings = vocab * h * (1 if model.get("tie_embeddings") else 2)
    qkv_bias = 3 * h if model.get("arch", "qwen2") == "qwen2" else 0
    per_layer = 4 * h * h + qkv_bias + 3 * h * mlp + 2 * h
    return embeddings + layers * per_layer + h


def hf_config_params(config: dict[str, Any]) -> int | None:
    """Parameters estimated from a Hugging Face config.json (decoder-only transformers), or None if unknown."""
    try:
        h = int(config["hidden_size"])
        layers = int(config["num_hidden_layers"])
        mlp = int(config.get("intermediate_size") or 4 * h)
        vocab = int(config["vocab_size"])
    except (KeyError, TypeError, ValueError):
        return None
    heads = int(config.get("num_attention_heads") or 1)
    kv_heads = int(config.get("num_key_value_heads") or heads)
    kv = 2 * h * (h * kv_heads // max(heads, 1))
    per_layer = 2 * h * h + kv + 3 * h * mlp + 2 * h
    embeddings = vocab * h * (1 if config.get("tie_word_embeddings") else 2)
    return embeddings + layers * per_layer + h


def _config_json(settings: Settings, model: dict[str, Any]) -> dict[str, Any] | None:
    path = str(model["path"])
    candidates = [settings.data_dir / path / "config.json"]
    try:  # a hub id already in the local HF cache (no network: this only looks at files)
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(path, "config.json", revision=model.get("revision"))
        if isinstance(cached, str):
            candidates.append(Path(cached))
    except Exception:  # not installed, or not a valid repo id: the size stays unknown
        pass
    for candidate in candidates:
        try:
            if candidate.is_file() and candidate.stat().st_size < 1_000_000:
                value = json.loads(candidate.read_text(encoding="utf-8"))
                return value if isinstance(value, dict) else None
        except (OSError, ValueError):
            continue
    return None


def model_params(settings: Settings, model: dict[str, Any]) -> int | None:
    if str(model["path"]).startswith("builtin:"):
        return builtin_params(model)
    config = _config_json(settings, model)
    return hf_config_params(config) if config else None


def _over(pointer: str, what: str, value: float, limit: float, setting: str) -> dict[str, Any]:
    return {
        "pointer": pointer,
        "field": pointer.strip("/").replace("/", "."),
        "message": f"{what} is {value:,.0f}; this server's limit is {limit:,.0f} (the operator raises it with "
        f"{env_name(setting)})",
        "line": None,
        "column": None,
    }


def check_run_size(config: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Field errors (the shape of FieldError) for every limit the config exceeds; [] when it fits."""
    errors: list[dict[str, Any]] = []
    run, rollout, resources = config["run"], config["rollout"], config["resources"]

    def check(pointer: str, what: str, value: float | None, setting: str) -> None:
        limit = getattr(settings, setting)
        if limit and value is not None and value > limit:
            errors.append(_over(pointer, what, value, limit, setting))

    check("/run/steps", "run.steps", run["steps"], "max_steps")
    check("/rollout/batch_size", "rollout.batch_size", rollout["batch_size"], "max_batch_size")
    warm = config.get("warm_start") or {}
    if warm.get("steps"):
        check("/warm_start/batch_size", "warm_start.batch_size", warm.get("batch_size"), "max_batch_size")
    threads = int(resources["cpu_threads"]) * int(resources.get("cpu_ranks") or 1)
    check("/resources/cpu_threads", "resources.cpu_threads × resources.cpu_ranks", threads, "max_cpu_threads")
    check("/run/max_wall_time_s", "run.max_wall_time_s", run.get("max_wall_time_s"), "max_wall_time_s")
    if settings.max_model_params:
        check(
            "/model",
            "the model's parameter count",
            model_params(settings, config["model"]),
            "max_model_params",
        )
    return errors
