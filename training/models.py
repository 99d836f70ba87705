"""Policies: the built-in character model (`builtin:tiny-char`), local Hugging Face model folders and hub ids.

The built-in model is a real transformers causal LM (Qwen2 or Llama architecture) with a character-level
tokenizer built with `tokenizers`; it is saved and loaded with `save_pretrained` / `from_pretrained`, so every
later stage (checkpoints, the vLLM backend, `from_pretrained` of a finished run) treats it like any HF model.

A hub id (`org/name`, optional `model.revision`) is looked up in the standard Hugging Face cache (`HF_HOME`,
read when the model is loaded). A cached snapshot loads without any network call; an uncached one is downloaded
when the hub is reachable, and refused at once with the id and the fix when it is not (`HF_HUB_OFFLINE=1`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from training.config import ModelConfig, hub_id_problem
from training.tiny_models import hub_cache_dir

BUILTIN_TINY_CHAR = "builtin:tiny-char"
#: Characters of the built-in model. Kept tiny on purpose: a randomly initialised policy must emit a valid
#: action (digits then `;`) often enough for GRPO to find a signal (with ~100 printable characters it almost
#: never does, and every group is all-fail).
CHAR_ALPHABET = "0123456789<>=;?"
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")
MARKER_FILE = "grpolab_model.json"


class ModelLoadError(ValueError):
    """A model that cannot be loaded, with the field and the fix in the message."""


@dataclass
class Policy:
    """A loaded policy: the torch module, its tokenizer and how to format conversations for it."""

    model: Any  # transformers PreTrainedModel
    tokenizer: Any  # transformers PreTrainedTokenizerFast
    #: `plain`: BOS + observation text + action text + observation text ... (the built-in model);
    #: `chat`: the tokenizer's chat template, one user message per observation.
    fmt: str
    source: str


def build_char_tokenizer(alphabet: str = CHAR_ALPHABET) -> Any:
    """A character-level fast tokenizer: one token per character, specials first."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for ch in alphabet:
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>"
    )


def build_tiny_char(cfg: ModelConfig, seed: int = 0) -> Policy:
    """The built-in policy with freshly initialised weights (deterministic for a given seed)."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    if cfg.hidden_size % cfg.num_heads:
        raise ModelLoadError(
            f"model.hidden_size ({cfg.hidden_size}) must be a multiple of model.num_heads ({cfg.num_heads})"
        )
    tokenizer = build_char_tokenizer(cfg.alphabet or CHAR_ALPHABET)
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=cfg.tie_embeddings,
        initializer_range=cfg.init_std,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    hf_cfg = Qwen2Config(**common) if cfg.arch == "qwen2" else LlamaConfig(**common)
    # The init draws from torch's global RNG: fork it so building a model never shifts a caller's stream.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = (Qwen2ForCausalLM if cfg.arch == "qwen2" else LlamaForCausalLM)(hf_cfg)
    model.to(_dtype(cfg.dtype))
    return Policy(model=model, tokenizer=tokenizer, fmt="plain", source=BUILTIN_TINY_CHAR)


def _dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def save_policy(policy: Policy, directory: Path) -> None:
    """`save_pretrained` model + tokenizer (safetensors) and a marker saying how to format conversations."""
    directory.mkdir(parents=True, exist_ok=True)
    policy.model.save_pretrained(directory, safe_serialization=True)
    policy.tokenizer.save_pretrained(directory)
    (directory / MARKER_FILE).write_text(json.dumps({"format": policy.fmt, "source": policy.source}))


def load_policy(cfg: ModelConfig, seed: int = 0) -> Policy:
    """Build or load the policy named by `model.path`: built-in, an existing local folder, else a hub id."""
    path = cfg.path
    if path == BUILTIN_TINY_CHAR:
        return build_tiny_char(cfg, seed)
    if path.startswith("builtin:"):
        raise ModelLoadError(
            f"model.path: unknown built-in model {path!r}; the built-in one is `{BUILTIN_TINY_CHAR}`"
        )
    folder = Path(path).expanduser()
    if folder.exists():
        return load_folder(folder, cfg)
    problem = hub_id_problem(path)
    if problem is not None:
        raise ModelLoadError(
            f"model.path: {path!r} is not an existing folder, and {problem}. Point model.path at a local Hugging "
            f"Face model folder, a hub id such as `Qwen/Qwen2.5-0.5B-Instruct`, or `{BUILTIN_TINY_CHAR}`."
        )
    return load_hub(path, cfg)


def hub_offline() -> bool:
    """Offline as the current environment says (`HF_HUB_OFFLINE`), read now rather than at import time."""
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return flag in ("1", "true", "yes", "on") or (flag == "" and bool(constants.HF_HUB_OFFLINE))


def cached_snapshot(repo_id: str, revision: str = "main", cache_dir: Path | None = None) -> Path | None:
    """The snapshot folder of `repo_id` at `revision` in the hub cache, or None when its config is not cached."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(
        repo_id, "config.json", cache_dir=cache_dir or hub_cache_dir(), revision=revision
    )
    return Path(found).parent if isinstance(found, str) else None


def hub_fix(repo_id: str, revision: str | None, cache: Path) -> str:
    """How to get a hub model into the cache this process reads."""
    rev = f" --revision {revision}" if revision else ""
    home = cache.parent if cache.name == "hub" else cache
    return (
        f"on a machine with network run `HF_HOME={home} huggingface-cli download {repo_id}{rev}` (newer clients: "
        f"`hf download`) and copy or mount that cache here (HF_HOME={home}); or point model.path at a local "
        "model folder"
    )


def load_hub(repo_id: str, cfg: ModelConfig) -> Policy:
    """Load a hub model from the cache; download it first when it is not cached and the hub is reachable."""
    cache = hub_cache_dir()
    revision = cfg.revision or "main"
    snapshot = cached_snapshot(repo_id, revision, cache)
    if snapshot is None:
        where = f"{repo_id!r}" + (f" (revision {cfg.revision!r})" if cfg.revision else "")
        why_offline = "HF_HUB_OFFLINE=1" if hub_offline() else hub_unreachable()
        if why_offline:
            raise ModelLoadError(
                f"model.path: hub model {where} is not in the Hugging Face cache ({cache}) and the hub cannot be "
                f"used ({why_offline}). To fix: {hub_fix(repo_id, cfg.revision, cache)}."
            )
        snapshot = _download(repo_id, cfg, cache, where)
    try:
        policy = load_folder(snapshot, cfg)
    except ModelLoadError as exc:  # a partial snapshot (an interrupted download): same fix as a missing one
        raise ModelLoadError(f"{exc}. To fix: {hub_fix(repo_id, cfg.revision, cache)}.") from None
    policy.source = repo_id + (f"@{cfg.revision}" if cfg.revision else "")
    return policy


def hub_unreachable(timeout_s: float = 3.0) -> str | None:
    """Why the hub endpoint cannot be reached (one TCP connect, a few seconds at most), or None when it can.

    The hub client retries a failed connection for ~20 s; this check makes "no network" fail in seconds.
    Behind an HTTP(S) proxy a direct connect says nothing, so the check is skipped there."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    url = urlparse(constants.ENDPOINT)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        return f"no network: {host}:{port} is unreachable ({exc.strerror or exc})"
    return None


def _download(repo_id: str, cfg: ModelConfig, cache: Path, where: str) -> Path:
    """Fetch config, tokenizer and one weight format (safetensors when the repo has them) into the cache."""
    from huggingface_hub import HfApi, snapshot_download

    revision = cfg.revision or "main"
    try:
        files = [f for f in HfApi().list_repo_files(repo_id, revision=revision) if "/" not in f]
        weights = [f for f in files if f.endswith(".safetensors")] or [f for f in files if f.endswith(".bin")]
        wanted = [
            f
            for f in files
            if f.endswith((".json", ".txt", ".model", ".jinja", ".tiktoken"))
            or (cfg.trust_remote_code and f.endswith(".py"))
        ]
        folder = snapshot_download(
            repo_id, revision=revision, cache_dir=cache, allow_patterns=[*wanted, *weights]
        )
    except Exception as exc:  # network, auth, missing repo: all end as one message with the fix
        raise ModelLoadError(
            f"model.path: cannot download hub model {where} into {cache}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no details'}. To fix: "
            f"{hub_fix(repo_id, cfg.revision, cache)}."
        ) from None
    return Path(folder)


def load_folder(folder: Path, cfg: ModelConfig | None = None) -> Policy:
    """Load a local HF folder (ours or any causal LM with a tokenizer)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

    cfg = cfg or ModelConfig()
    if not (folder / "config.json").exists():
        raise ModelLoadError(
            f"model.path: {str(folder)!r} has no config.json; is it a Hugging Face model folder?"
        )
    marker = folder / MARKER_FILE
    meta = json.loads(marker.read_text()) if marker.exists() else {}
    try:
        model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=_dtype(cfg.dtype), trust_remote_code=cfg.trust_remote_code, local_files_only=True
        )
        if meta:
            # transformers 5's AutoTokenizer maps qwen2 to a slow-compatible class that drops characters it does
            # not know; our character tokenizer must be loaded as the generic fast tokenizer.
            tokenizer = PreTrainedTokenizerFast.from_pretrained(folder, local_files_only=True)
        else:
            tokenizer = AutoTokenizer.from_pretrained(
                folder, trust_remote_code=cfg.trust_remote_code, local_files_only=True
            )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"model.path: cannot load {str(folder)!r}: {exc}") from None
    if len(tokenizer) < 2:  # transformers 5 builds an empty tokenizer when a folder has no tokenizer files
        raise ModelLoadError(
            f"model.path: cannot load {str(folder)!r}: it has no tokenizer files (tokenizer.json, "
            "tokenizer.model or vocab.json + merges.txt)"
        )
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    fmt = meta.get("format") or ("chat" if cfg.chat_template and tokenizer.chat_template else "plain")
    return Policy(model=model, tokenizer=tokenizer, fmt=fmt, source=str(folder))


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
