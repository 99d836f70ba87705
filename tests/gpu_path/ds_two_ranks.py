"""Run by test_deepspeed_learner.py under `torchrun --nproc_per_node=2`: each rank trains on its own data, then
writes what it ended with (exported weights, metrics) for the test to compare across ranks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import random_batch, tiny_model_config

from training.config import AlgorithmConfig, LearnerConfig, OptimConfig
from training.learner.deepspeed_backend import DeepSpeedLearner
from training.models import build_tiny_char


def main(out: Path) -> None:
    import faulthandler

    faulthandler.dump_traceback_later(240, exit=True)  # a hung collective fails the test with stacks

    import torch.distributed as dist

    for stage in (0, 3):
        model = build_tiny_char(tiny_model_config(), seed=0).model
        before = {k: v.clone() for k, v in model.state_dict().items()}
        learner = DeepSpeedLearner(
            model,
            AlgorithmConfig(),
            OptimConfig(micro_batch_size=2, lr=1e-2),
            LearnerConfig(backend="deepspeed", zero_stage=stage),
        )
        rank = dist.get_rank()
        metrics = [learner.step(random_batch(seed=10 * step + rank)) for step in range(2)]
        weights = learner.full_state_dict()
        changed = sum(int(not torch.equal(weights[k], before[k])) for k in before if k in weights)
        torch.save(weights, out / f"stage{stage}-rank{rank}.pt")
        info = {"world": dist.get_world_size(), "metrics": metrics, "changed": changed, "n": len(weights)}
        (out / f"stage{stage}-rank{rank}.json").write_text(json.dumps(info))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
