"""Run by test_multirank.py on 2 ranks (training.distributed.launch, gloo): one real pipeline step — setup
(warm start included), rollout of each rank's share, the batch built from every rank's groups, this rank's share,
one learner step — then writes what this rank saw and ended with for the test to compare with one process."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from training.config import RunConfig
from training.pipeline import build_batch, learn, rank_share, resume_or_start, rollout, setup

#: 3 groups over 2 ranks (2 + 1: uneven shares); an estimator that whitens over the whole batch, so advantages
#: computed after the split would differ from one process's.
RAW = {
    "model": {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32},
    "rollout": {"batch_size": 24},
    "algorithm": {"group_size": 8, "estimator": "reinforce_pp_baseline", "kl_coef": 0.05},
    "optim": {"micro_batch_size": 4, "lr": 1e-2},
    "warm_start": {"steps": 10, "batch_size": 32, "lr": 1e-2},
    "run": {"steps": 1, "eval_episodes": 0, "checkpoint_every": 0},
    "resources": {"cpu_threads": 1},
}


def probe_config() -> RunConfig:
    return RunConfig.model_validate(RAW)


def main(out: Path) -> None:
    import faulthandler

    faulthandler.dump_traceback_later(120, exit=True)  # a hung collective fails the test with stacks
    cfg = probe_config()
    run = setup(cfg, out / "run", resume=False)
    resume_or_start(run)
    before = {k: v.clone() for k, v in run.learner.export_weights()}
    rng = np.random.default_rng([cfg.run.seed, 1, 1])
    groups = rollout(run, rng)
    batch, _ = build_batch(groups, cfg, rng)
    mine = rank_share(batch, run.ranks, run.prompts_per_step)
    metrics = learn(run, batch)
    torch.save(
        {
            "world": run.ranks.world,
            "groups": groups,
            "sequences": [(s.group_id, s.token_ids, s.advantages) for s in mine.sequences],
            "metrics": metrics,
            "before": before,
            "after": {k: v.clone() for k, v in run.learner.export_weights()},
        },
        out / f"rank{run.ranks.rank}.pt",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
