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
