"""Policies: the built-in character model (`builtin:tiny-char`) and local Hugging Face model folders.

The built-in model is a real transformers causal LM (Qwen2 or Llama architecture) with a character-level
tokenizer built with `tokenizers`; it is saved and loaded with `save_pretrained` / `from_pretrained`, so every
later stage (checkpoints, the vLLM backend, `from_pretrained` of a finished run) treats it like any HF model.
No model hub is reachable here: anything that is neither `builtin:*` nor an existing folder is refused with a
clear message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from training.config import ModelConfig

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


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def load_policy(cfg: ModelConfig, seed: int = 0) -> Policy:
    """Build or load the policy named by `model.path`."""
    path = cfg.path
    if path == BUILTIN_TINY_CHAR:
        return build_tiny_char(cfg, seed)
    if path.startswith("builtin:"):
        raise ModelLoadError(
            f"model.path: unknown built-in model {path!r}; the built-in one is `{BUILTIN_TINY_CHAR}`"
        )
    folder = Path(path).expanduser()
    if not folder.exists():
        hint = (
            " It looks like a Hugging Face hub id, but no model hub is reachable from here: download the model "
            "elsewhere and point model.path at the local folder (config.json + weights + tokenizer)."
            if _HUB_ID.match(path)
            else " Point model.path at a local Hugging Face model folder or use `builtin:tiny-char`."
        )
        raise ModelLoadError(f"model.path: {path!r} is not an existing folder.{hint}")
    return load_folder(folder, cfg)


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
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    fmt = meta.get("format") or ("chat" if cfg.chat_template and tokenizer.chat_template else "plain")
    return Policy(model=model, tokenizer=tokenizer, fmt=fmt, source=str(folder))


def count_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())
