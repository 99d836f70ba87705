"""Tiny chat models built locally, stored the way the Hugging Face hub cache stores downloaded models.

A test (or a CPU demo) needs a model that goes through exactly the path a user's `Qwen/...` model goes through:
a real subword tokenizer with a chat template, a transformers config, safetensors weights, all inside
`$HF_HOME/hub/models--ORG--NAME/snapshots/<sha>/` with `refs/main` naming the snapshot. This module builds one:

- `corpus(n, seed)`: generated text (reasoning-gym questions and answers, chat words) to train a tokenizer on;
- `build_bpe_tokenizer(texts)`: a byte-level BPE trained with `tokenizers` (digits split one per token, as Qwen2
  and Llama 3 do, so numbers stay learnable), with ChatML-style specials and a chat template;
- `build_tiny_chat_model(tokenizer)`: a randomly initialised Qwen2 causal LM of a few 10k parameters;
- `save_to_hub_cache(model, tokenizer, repo_id, cache_dir)`: the cache layout (blobs, snapshot symlinks, refs);
- `build_tiny_chat_checkpoint(repo_id, cache_dir)`: all of the above in one call; returns the snapshot folder.

Nothing here touches the network; the model then loads with `HF_HUB_OFFLINE=1` by its id.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

#: ChatML markers (the Qwen family's): a turn is `<|im_start|>ROLE\nTEXT<|im_end|>\n`; `<|im_end|>` is EOS.
PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
#: reasoning-gym families whose questions and answers make up the generated corpus (all generate offline).
CORPUS_TASKS = ("chain_sum", "basic_arithmetic", "letter_counting", "spell_backward", "number_sorting", "gcd")
_CHAT_WORDS = (
    "You are a helpful assistant. Think step by step and put the final answer in \\boxed{}.",
    "The answer is \\boxed{42}.",
    "Answer: 7",
    "<answer>12</answer>",
    "Question: what is 3 + 4? Reply with a number.",
)


def hub_cache_dir() -> Path:
    """The hub cache as the current environment names it (`HF_HUB_CACHE`, else `$HF_HOME/hub`), read now."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface"
    )
    return Path(home).expanduser() / "hub"


def corpus(n: int = 2000, seed: int = 0, tasks: Sequence[str] = CORPUS_TASKS) -> list[str]:
    """`n` generated texts: reasoning-gym question/answer pairs of `tasks`, plus a few chat phrases."""
    import reasoning_gym as rg

    per_task = max(1, n // max(1, len(tasks)))
    texts = list(_CHAT_WORDS)
    for i, name in enumerate(tasks):
        ds = rg.create_dataset(name, size=per_task, seed=seed * 1000 + i)
        for entry in ds:
            texts.append(f"{entry['question']}\n{entry['answer']}")
    rng = random.Random(seed)
    rng.shuffle(texts)
    return texts[:n] if len(texts) > n else texts


def build_bpe_tokenizer(
    texts: Iterable[str] | None = None, vocab_size: int = 384, chat_template: str = CHAT_TEMPLATE
) -> Any:
    """A byte-level BPE (any text encodes, nothing is unknown) trained on `texts` (default: `corpus()`).

    Digits are split one per token before BPE. `vocab_size` counts the 256 byte symbols and the 3 specials;
    the rest are learned merges. Returns a `PreTrainedTokenizerFast` with EOS `<|im_end|>` and PAD
    `<|endoftext|>`.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if vocab_size < len(byte_level.alphabet()) + len(SPECIAL_TOKENS):
        raise ValueError(f"vocab_size {vocab_size} is below the 256 byte symbols + 3 specials")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts) if texts is not None else corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=IM_END, pad_token=PAD_TOKEN, additional_special_tokens=[IM_START]
    )
    fast.chat_template = chat_template
    return fast


def build_tiny_chat_model(
    tokenizer: Any,
    *,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int = 2,
    intermediate_size: int = 64,
    max_position_embeddings: int = 512,
    tie_embeddings: bool = True,
    init_std: float = 0.05,
    seed: int = 0,
) -> Any:
    """A randomly initialised `Qwen2ForCausalLM` sized for `tokenizer` (defaults: ~30k parameters)."""
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        tie_word_embeddings=tie_embeddings,
        initializer_range=init_std,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):  # never shift a caller's RNG stream
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(cfg)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    return model


def save_to_hub_cache(
    model: Any, tokenizer: Any, repo_id: str, cache_dir: Path | None = None, revision: str = "main"
) -> Path:
    """Store `model` + `tokenizer` as the hub cache holds a downloaded repo; returns the snapshot folder.

    Layout: `<cache>/models--ORG--NAME/{blobs/<sha256>, snapshots/<commit>/<file> → ../../blobs/<sha256>,
    refs/<revision>}`. The commit id is derived from the files' contents, so the same weights give the same id.
    """
    cache = Path(cache_dir) if cache_dir is not None else hub_cache_dir()
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp)
        model.save_pretrained(staged, safe_serialization=True)
        tokenizer.save_pretrained(staged)
        files = sorted(p for p in staged.rglob("*") if p.is_file())
        digests = {
            p.relative_to(staged).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
        }
        commit = hashlib.sha1("".join(f"{k}:{v}\n" for k, v in digests.items()).encode()).hexdigest()
        snapshot = repo / "snapshots" / commit
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        for rel, digest in digests.items():
            blob = repo / "blobs" / digest
            if not blob.exists():
                shutil.copyfile(staged / rel, blob)
            link = snapshot / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            try:
                link.symlink_to(os.path.relpath(blob, link.parent))
            except OSError:  # file systems without symlinks: the hub client copies too
                shutil.copyfile(blob, link)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / revision).write_text(commit)
    return snapshot


def build_tiny_chat_checkpoint(
    repo_id: str = "grpolab-test/tiny-chat",
    cache_dir: Path | None = None,
    *,
    texts: Iterable[str] | None = None,
    vocab_size: int = 384,
    seed: int = 0,
    **model_kwargs: Any,
) -> Path:
    """Tokenizer (trained on `texts`, default `corpus(seed=seed)`) + random Qwen2 model, saved in the hub cache
    under `repo_id`. `model_kwargs` go to `build_tiny_chat_model`. Returns the snapshot folder."""
    tokenizer = build_bpe_tokenizer(texts if texts is not None else corpus(seed=seed), vocab_size=vocab_size)
    model = build_tiny_chat_model(tokenizer, seed=seed, **model_kwargs)
    return save_to_hub_cache(model, tokenizer, repo_id, cache_dir)
