from __future__ import annotations

import pytest

from training.config import RunConfig


def tiny_config(**sections) -> RunConfig:
    """A few-second run: a 16-wide 1-layer model, 4 initial states × 8 episodes per step."""
    raw = {
        "model": {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32},
        "rollout": {"batch_size": 32},
        "run": {"steps": 4, "eval_episodes": 0, "checkpoint_every": 2},
        "resources": {"cpu_threads": 1},
    }
    for k, v in sections.items():
        raw.setdefault(k, {}).update(v)
    return RunConfig.model_validate(raw)


@pytest.fixture
def tiny():
    return tiny_config


TINY_CHAT_REPO = "grpolab-test/tiny-chat"


@pytest.fixture(scope="session")
def tiny_chat_hf_home(tmp_path_factory):
    """An HF_HOME whose hub cache holds TINY_CHAT_REPO (training.tiny_models: ~30k-parameter Qwen2, trained BPE,
    chat template) at `main`, and a second init (seed 1) at revision `v1`."""
    from training.tiny_models import build_bpe_tokenizer, build_tiny_chat_model, corpus, save_to_hub_cache

    home = tmp_path_factory.mktemp("hf_home")
    tokenizer = build_bpe_tokenizer(corpus(600, seed=1), vocab_size=320)
    for seed, revision in ((0, "main"), (1, "v1")):
        model = build_tiny_chat_model(tokenizer, seed=seed)
        save_to_hub_cache(model, tokenizer, TINY_CHAT_REPO, home / "hub", revision=revision)
    return home


@pytest.fixture
def hub_offline(tiny_chat_hf_home, monkeypatch):
    """HF_HOME = the tiny chat model's cache, HF_HUB_OFFLINE=1 (read by training.models at load time)."""
    monkeypatch.setenv("HF_HOME", str(tiny_chat_hf_home))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tiny_chat_hf_home
