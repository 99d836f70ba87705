"""RunConfig's `model:` section: the policy (built-in, local folder or hub id) and its optional LoRA adapters.

Pure pydantic + stdlib, like training/config.py, which re-exports every name here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from training.config_base import Section


class LoraConfig(Section):
    """Low-rank adapters (peft's LoRA) on some linear layers; the base weights stay frozen."""

    r: int = Field(8, ge=1, le=1024, description="Rank of each adapter (the inner size of B·A).")
    alpha: float = Field(
        16.0,
        gt=0,
        le=65536,
        description="Scale numerator: the adapter's output is multiplied by alpha / r. Keep alpha / r fixed "
        "when changing r to keep the step size comparable.",
    )
    dropout: float = Field(
        0.0, ge=0, lt=1, description="Dropout on the adapter's input while learning (rollouts never drop)."
    )
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "v_proj"],
        min_length=1,
        max_length=64,
        description="Names of the linear layers that get an adapter, matched against the end of each module "
        "name (Llama/Qwen2: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj).",
        examples=[["q_proj", "v_proj"], ["q_proj", "k_proj", "v_proj", "o_proj"]],
    )

    @field_validator("target_modules")
    @classmethod
    def _module_names(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if not m or not all(c.isalnum() or c in "_." for c in m)]
        if bad:
            raise ValueError(
                f"model.lora.target_modules: {bad[0]!r} is not a module name; use names such as q_proj, v_proj"
            )
        if len(set(v)) != len(v):
            raise ValueError("model.lora.target_modules: a module is listed twice")
        return v


#: A Hugging Face hub repo id: `org/name`, each part letters, digits, `-`, `_`, `.` (no `--` or `..`, ≤ 96).
HUB_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$"


def hub_id_problem(value: str) -> str | None:
    """Why `value` is not a valid hub repo id (`org/name`), or None when it is one. Syntax only, no network."""
    import re

    if re.fullmatch(HUB_ID_PATTERN, value) is None:
        return (
            f"{value!r} is not a hub id: use `org/name` (letters, digits, '-', '_', '.'; each part starting with "
            "a letter or digit, at most 96 characters)"
        )
    if "--" in value or ".." in value or value.endswith((".", "-", ".git")):
        return f"{value!r} is not a hub id: '--' and '..' are not allowed, nor a trailing '.', '-' or '.git'"
    return None


class ModelConfig(Section):
    """The policy: a built-in tiny model, a local Hugging Face model folder, or a hub id from the HF cache."""

    path: str = Field(
        "builtin:tiny-char",
        description="`builtin:tiny-char` builds a ~0.13M-parameter character-level causal LM locally; an existing "
        "local folder holding a Hugging Face model (config.json + weights + tokenizer); or a hub id `org/name` "
        "loaded through the Hugging Face cache (`HF_HOME`). Offline (`HF_HUB_OFFLINE=1` or no network) a hub id "
        "must already be in the cache (`huggingface-cli download org/name`).",
        examples=["builtin:tiny-char", "Qwen/Qwen2.5-0.5B-Instruct", "models/qwen2.5-0.5b-instruct"],
    )
    revision: str | None = Field(
        None,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
        description="Hub ids only: branch, tag or commit to load (null = `main`). Ignored for local folders.",
        examples=[None, "main", "v1.0"],
    )
    arch: Literal["qwen2", "llama"] = Field(
        "qwen2", description="Architecture of the built-in model (ignored for a local folder)."
    )
    hidden_size: int = Field(
        64,
        ge=8,
        le=8192,
        description="Built-in model: hidden width. The demo default (64 wide, 2 layers: ~0.1M parameters) learns "
        "the N = 8 game in about a minute on 2 CPU cores; the ~1M size of the benchmark is hidden 128 × 4 layers.",
    )
    num_layers: int = Field(2, ge=1, le=64, description="Built-in model: transformer layers.")
    num_heads: int = Field(4, ge=1, le=64, description="Built-in model: attention heads.")
    intermediate_size: int = Field(256, ge=8, le=32768, description="Built-in model: MLP width.")
    init_std: float = Field(
        0.05,
        gt=0,
        le=1,
        description="Built-in model: std of the normal weight init (transformers' initializer_range). 0.02, "
        "the transformers default, leaves this tiny model blind to earlier turns under RL; larger values "
        "make the policy deterministic too early.",
    )
    tie_embeddings: bool = Field(False, description="Built-in model: share input and output embeddings.")
    alphabet: str | None = Field(
        None,
        min_length=1,
        max_length=256,
        description="Built-in model: the characters of its tokenizer, one token each (null = the guessing "
        "game's `0123456789<>=;?`). Must cover every character the environment writes: `0123456789+-=` for "
        "the chain_sum reasoning task.",
        examples=[None, "0123456789+-="],
    )
    max_position_embeddings: int = Field(
        256, ge=16, le=131072, description="Built-in model: longest context in tokens."
    )
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="Weights' dtype for the torch learner and hf rollouts (float32 on CPU)."
    )
    trust_remote_code: bool = Field(
        False,
        description="Allow a local model folder to run its own Python code. The service refuses `true` "
        "unless its operator enabled it.",
    )
    chat_template: bool = Field(
        True,
        description="For local Hugging Face models: wrap observations with the tokenizer's chat template. "
        "The built-in model always uses its plain character format.",
    )
    lora: LoraConfig | None = Field(
        None,
        description="Train low-rank adapters instead of every weight (null = full fine-tune). The KL reference "
        "is then the base model with the adapters switched off; checkpoints hold only the adapter.",
        examples=[None, {"r": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj"]}],
    )

    @field_validator("path")
    @classmethod
    def _path_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("model.path is empty: use `builtin:tiny-char`, a local model folder or a hub id")
        return v

    @field_validator("revision")
    @classmethod
    def _revision_stays_in_cache(cls, v: str | None) -> str | None:
        if v is not None and ".." in v.split("/"):
            raise ValueError("model.revision: '..' is not a branch, tag or commit")
        return v

    @field_validator("alphabet")
    @classmethod
    def _alphabet_chars(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if len(set(v)) != len(v):
            dup = next(c for c in v if v.count(c) > 1)
            raise ValueError(f"model.alphabet: {dup!r} is listed twice; list each character once")
        if any(c.isspace() or not c.isprintable() for c in v):
            raise ValueError("model.alphabet: use printable characters without spaces (e.g. `0123456789+-=`)")
        return v
