"""The fixed GRPO pipeline, read top to bottom:

    run = setup(cfg)                      policy (warm-started on a fresh run), environments, backends, ranks
                                          (training/run_setup.py)
    start = resume_or_start(run)          last checkpoint, or the first evaluation
    for step in start+1 .. run.steps:
        groups = rollout(run, rng)        B initial states × G episodes (each rank plays its share)
        batch  = build_batch(groups)      advantages per group → token-level batch (training/batch.py)
        learned = learn(run, batch)       one optimizer step (training.loss), weights pushed to the rollout
        log_step(run, step, metrics)      metrics.jsonl + on_metrics
        sample_log.write(step, groups)    samples.jsonl: a few episodes' text, reward, advantage
        save_checkpoint(run, step)        every run.checkpoint_every steps
    finish(run)                           final checkpoint, evaluation on fresh episodes, summary.json

One step: B initial states, G episodes each (a group, replayed from the same reset seed), multi-turn until
done; one advantage per episode computed inside its group, that advantage on every action token of the
episode; no second normalization in the learner unless `algorithm.norm_return` says so (lint GL001).
Subsampling, when configured, keeps or drops whole groups (`transitions` exists only for the double-normalization
ablation).

Several ranks (training/distributed.py): every rank draws the same seeds and plays its share of whole groups;
all ranks gather every group, so `build_batch` sees the full batch on every rank (advantages, subsampling and
whitening exactly as in one process); each rank then trains on its own groups' sequences and the learners sum
gradients over ranks. Rank 0 alone writes files and reports.

Everything random derives from (run.seed, step), so a resumed run continues the same trajectory, and the
same seed on CPU gives identical metrics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from training import checkpoint, distributed
from training import metrics as M
from training.backends import SamplingParams, TrainBatch
from training.batch import build_batch
from training.config import RunConfig
from training.envs.runner import Episode, play_groups
from training.run_setup import LogCallback, MetricsCallback, Run, setup
from training.run_setup import prompts_per_step as prompts_per_step  # callers import it from here too
from training.samples import SampleLog

#: Episodes per evaluation `generate` call.
EVAL_CHUNK = 512


def train(
    config: RunConfig,
    out_dir: Path,
    *,
    on_metrics: MetricsCallback | None = None,
    on_log: LogCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = True,
) -> dict[str, Any]:
    """Run (or resume) a training run; writes metrics.jsonl, summary.json and checkpoints/ under `out_dir`."""
    t_start = time.perf_counter()
    run = setup(config, Path(out_dir), resume=resume, on_metrics=on_metrics, on_log=on_log)
    start_step = resume_or_start(run)
    sample_log = SampleLog(run.out_dir, config, start_step, writer=run.ranks.is_writer)
    step, stopped, last = start_step, False, dict[str, float]()
    for step in range(start_step + 1, config.run.steps + 1):
        if distributed.any_rank(should_stop is not None and should_stop()):
            stopped, step = True, step - 1
            break
        rng = np.random.default_rng([config.run.seed, 1, step])
        t0 = time.perf_counter()
        groups = rollout(run, rng)
        t_roll = time.perf_counter() - t0
        batch, adv_stats = build_batch(groups, config, rng)
        t1 = time.perf_counter()
        learned = learn(run, batch)
        t_learn = time.perf_counter() - t1
        last = step_metrics(groups, adv_stats, learned, t_roll, t_learn)
        if _due(config.run.eval_every, step) and config.run.eval_episodes:
            ev = evaluate(run, config.run.eval_episodes, tag=step)  # the run page draws these (eval curves)
            last[M.EVAL_SUCCESS_RATE], last[M.EVAL_REWARD_MEAN] = ev["success_rate"], ev["reward_mean"]
        log_step(run, step, last)
        sample_log.write(step, groups)  # samples.jsonl: a few episodes' text, reward and advantage
        if _due(config.run.checkpoint_every, step) and step < config.run.steps:
            save_checkpoint(run, step)
    return finish(run, step, stopped, last, t_start)


def _due(every: int, step: int) -> bool:
    """True every `every` steps (never when `every` is 0)."""
    return every > 0 and step % every == 0


# -- resume or start -----------------------------------------------------------------------------------------------
def resume_or_start(run: Run) -> int:
    """Load the checkpoint `setup` found (returns its step), or start fresh with the first evaluation."""
    from training.learner.torch_learner import set_rng_state

    ckpt = run.resume_from
    if ckpt is not None:
        run.learner.load_checkpoint(ckpt)
        run.state, rng = checkpoint.load_state(ckpt)
        set_rng_state(rng)
        start_step = int(run.state["step"])
        run.rollout.sync_weights(run.learner.export_weights())
        if run.ranks.is_writer:
            _truncate_metrics(run.metrics_path, start_step)
        run.log(f"resumed from {ckpt.name} (step {start_step})")
        return start_step
    if run.ranks.is_writer:
        run.metrics_path.write_text("")
    run.rollout.sync_weights(run.learner.export_weights())  # the warm start changed the weights
    if run.cfg.run.eval_episodes:
        run.state["eval_start"] = evaluate(run, run.cfg.run.eval_episodes, tag=0)
        run.log(f"start: eval success {run.state['eval_start']['success_rate']:.3f}")
    return 0


# -- one step ------------------------------------------------------------------------------------------------------
def play(
    run: Run, seeds: list[int], group_size: int, sample_seed: int, evaluation: bool = False
) -> list[list[Episode]]:
    """Groups of `group_size` episodes from each initial state in `seeds`, in order. Each rank plays its share of
    whole groups (with its own sampling seed) and receives every rank's groups. `evaluation`: the held-out
    split when the env has one, greedy decoding when `run.eval_greedy`."""
    mine = distributed.shard(len(seeds), run.ranks)
    if run.ranks.world > 1:
        sample_seed = int(np.random.default_rng([sample_seed, run.ranks.rank]).integers(2**31))
    greedy = run.sampling.greedy or (evaluation and run.cfg.run.eval_greedy)
    params = SamplingParams(**{**run.sampling.__dict__, "seed": sample_seed, "greedy": greedy})
    eval_env = run.new_eval_env if evaluation else None
    own = play_groups(
        eval_env or run.new_env,
        [seeds[i] for i in mine],
        group_size,
        run.rollout,
        run.fmt,
        params,
        run.cfg.env.max_turns,
        run.eval_env_pool if eval_env else run.env_pool,
    )
    return [g for part in distributed.gather_objects(own) for g in part]


def rollout(run: Run, rng: np.random.Generator) -> list[list[Episode]]:
    """This step's B groups of G episodes (seeds and the sampling seed drawn from the step's `rng`)."""
    seeds = rng.integers(0, 2**31 - 1, size=run.prompts_per_step).tolist()
    return play(run, seeds, run.group_size, int(rng.integers(2**31)))


def learn(run: Run, batch: TrainBatch) -> dict[str, float]:
    """One optimizer step on this rank's share of the batch, then the new weights to the rollout backend."""
    run.rollout.sleep()  # vLLM frees its GPU memory while the learner runs
    learned = run.learner.step(rank_share(batch, run.ranks, run.prompts_per_step))
    run.rollout.sync_weights(run.learner.export_weights())
    return learned


def rank_share(batch: TrainBatch, ranks: distributed.Ranks, n_groups: int) -> TrainBatch:
    """The sequences of the groups this rank played (`distributed.shard`): whole groups, their advantages
    already computed on the full batch. The whole batch on a single rank."""
    if ranks.world == 1:
        return batch
    mine = distributed.shard(n_groups, ranks)
    return TrainBatch(
        sequences=[s for s in batch.sequences if s.group_id in mine],
        temperature=batch.temperature,
        length_norm_constant=batch.length_norm_constant,
    )


def step_metrics(
    groups: list[list[Episode]],
    adv_stats: dict[str, float],
    learned: dict[str, float],
    t_roll: float,
    t_learn: float,
) -> dict[str, float]:
    episodes = [e for g in groups for e in g]
    sampled = sum(sum(e.action_tokens) for e in episodes)
    return {
        M.REWARD_MEAN: float(np.mean([e.ret for e in episodes])),
        M.SUCCESS_RATE: float(np.mean([e.success for e in episodes])),
        M.EPISODE_LEN: float(np.mean([e.num_turns for e in episodes])),
        M.INVALID_RATE: float(np.mean([e.invalid for e in episodes])),
        **adv_stats,
        **learned,
        M.ROLLOUT_S: t_roll,
        M.LEARN_S: t_learn,
        M.TOKENS_PER_S: sampled / max(t_roll + t_learn, 1e-9),
    }


def evaluate(run: Run, n: int, tag: int) -> dict[str, float]:
    """Success rate and mean return of `n` fresh episodes (one per initial state), seeds from (run.seed, tag)."""
    rng = np.random.default_rng([run.cfg.run.seed, 2, tag])
    succ: list[bool] = []
    ret: list[float] = []
    for k in range(0, n, EVAL_CHUNK):
        seeds = rng.integers(0, 2**31 - 1, size=min(EVAL_CHUNK, n - k)).tolist()
        eps = [e for g in play(run, seeds, 1, int(rng.integers(2**31)), evaluation=True) for e in g]
        succ += [e.success for e in eps]
        ret += [e.ret for e in eps]
    return {
        "success_rate": float(np.mean(succ)) if succ else 0.0,
        "reward_mean": float(np.mean(ret)) if ret else 0.0,
    }


def log_step(run: Run, step: int, metrics: dict[str, float]) -> None:
    """One line of metrics.jsonl and the on_metrics callback (rank 0 only)."""
    if not run.ranks.is_writer:
        return
    with run.metrics_path.open("a") as f:
        f.write(json.dumps({"step": step, **metrics}) + "\n")
    if run.on_metrics is not None:
        run.on_metrics(step, metrics)


def save_checkpoint(run: Run, step: int) -> Path:
    from training.learner.torch_learner import rng_state

    return checkpoint.save(
        run.out_dir, step, run.learner, run.policy.tokenizer, {**run.state, "rng": rng_state()}
    )


# -- finish --------------------------------------------------------------------------------------------------------
def finish(run: Run, step: int, stopped: bool, last: dict[str, float], t_start: float) -> dict[str, Any]:
    """Final checkpoint, evaluation on `run.eval_episodes` fresh episodes, summary.json; releases the backends."""
    from training.models import count_parameters

    cfg = run.cfg
    final_ckpt = save_checkpoint(run, step)
    summary: dict[str, Any] = {
        "steps": step,
        "stopped": stopped,
        "env": cfg.env.id,
        "model": cfg.model.path,
        "parameters": count_parameters(run.policy.model),
        "checkpoint": str(final_ckpt),
        "final": last,
        **{f"eval/{k}_start": v for k, v in run.state.get("eval_start", {}).items()},
        **run.state.get("warm_start", {}),
    }
    if cfg.run.eval_episodes and not stopped:
        t0 = time.perf_counter()
        ev = evaluate(run, cfg.run.final_eval_episodes, tag=10**6)
        summary.update({f"eval/{k}": v for k, v in ev.items()})
        summary[M.EVAL_EPISODES] = cfg.run.final_eval_episodes
        summary[M.EVAL_SECONDS] = time.perf_counter() - t0
        run.log(f"eval: success {ev['success_rate']:.3f} on {summary[M.EVAL_EPISODES]} fresh episodes")
    if run.ranks.world > 1:
        summary["ranks"] = run.ranks.world
    run.rollout.close()
    run.learner.close()
    summary["wall_s"] = time.perf_counter() - t_start
    if run.ranks.is_writer:
        (run.out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    if run.ranks.world > 1:
        distributed.barrier()
        distributed.destroy()
    return summary


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines written after the checkpoint we resume from (they will be recomputed identically)."""
    if not path.exists():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
    path.write_text("".join(ln + "\n" for ln in keep))
