"""The fixed GRPO pipeline, read top to bottom:

    run = setup(cfg)                      policy (warm-started on a fresh run), environments, backends, ranks
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

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training import checkpoint, distributed
from training import metrics as M
from training.backends import LearnerBackend, RolloutBackend, SamplingParams, TrainBatch
from training.batch import build_batch
from training.config import RunConfig
from training.envs.runner import Episode, play_groups
from training.samples import SampleLog

MetricsCallback = Callable[[int, dict[str, float]], None]
LogCallback = Callable[[str], None]

#: Episodes per evaluation `generate` call.
EVAL_CHUNK = 512


@dataclass
class Run:
    """Everything a run's steps share, built once by `setup`."""

    cfg: RunConfig
    out_dir: Path
    policy: Any  # training.models.Policy
    fmt: Any  # training.envs.chat.ConversationFormat
    new_env: Callable[[], Any]
    learner: LearnerBackend
    rollout: RolloutBackend
    sampling: SamplingParams
    ranks: distributed.Ranks
    #: initial states per step (B) and episodes per initial state (G)
    prompts_per_step: int
    group_size: int
    log: LogCallback
    on_metrics: MetricsCallback | None
    #: the pipeline's own state saved with each checkpoint (warm-start and start-of-run evaluation results)
    state: dict[str, Any] = field(default_factory=dict)
    env_pool: list[Any] = field(default_factory=list)
    #: environments of the held-out split, for envs that have one (`has_eval_split`); None: evaluate on `new_env`
    new_eval_env: Callable[[], Any] | None = None
    #: the checkpoint to resume from (None: a fresh run)
    resume_from: Path | None = None
    eval_env_pool: list[Any] = field(default_factory=list)

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / "metrics.jsonl"


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


# -- setup ---------------------------------------------------------------------------------------------------------
def setup(
    cfg: RunConfig,
    out_dir: Path,
    *,
    resume: bool = True,
    on_metrics: MetricsCallback | None = None,
    on_log: LogCallback | None = None,
) -> Run:
    """Policy, environment factory, sampling parameters, rollout and learner backends, this process's rank. A
    fresh run (no checkpoint to resume) is warm-started here, before the learner exists: its KL reference and
    DeepSpeed's fp32 master weights must start from the warm-started policy, not the random init."""
    import torch
    from transformers.utils import logging as hf_logging

    from training.envs import make_run_env
    from training.envs.chat import ConversationFormat
    from training.lora import apply_lora
    from training.models import count_parameters, load_policy

    hf_logging.disable_progress_bar()  # checkpoints are saved often; their shard bars would flood the log
    B, G = prompts_per_step(cfg), cfg.algorithm.group_size
    on_gpu = cfg.resources.gpus > 0 and torch.cuda.is_available()
    ranks = distributed.init(on_gpu)
    if ranks.world > 1 and cfg.rollout.backend == "vllm":
        raise ValueError(
            "rollout.backend: vllm runs on one rank only for now; use `rollout.backend: hf` with several ranks "
            "(docs/gpu.md: vLLM with several ranks)"
        )
    torch.set_num_threads(cfg.resources.cpu_threads)
    if ranks.is_writer:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "config.json").write_text(cfg.model_dump_json(indent=2))

    policy = apply_lora(load_policy(cfg.model, seed=cfg.run.seed), cfg.model.lora, seed=cfg.run.seed)
    system = cfg.env.dataset.system_prompt if cfg.env.dataset else None
    fmt = ConversationFormat(policy.tokenizer, policy.fmt, system=system)

    def new_env() -> Any:
        return make_run_env(cfg.env)

    def new_eval_env() -> Any:
        return make_run_env(cfg.env, split="eval")

    probe = new_env()
    # An env with a held-out split (grpolab:ReasoningGym-v0) is evaluated on it, never on training problems.
    held_out = bool(getattr(getattr(probe, "unwrapped", probe), "has_eval_split", False))
    turn_limit = cfg.env.max_turns or getattr(getattr(probe, "unwrapped", probe), "max_turns", None) or 1
    sampling = SamplingParams(
        max_new_tokens=cfg.rollout.max_new_tokens,
        temperature=cfg.rollout.temperature,
        top_p=cfg.rollout.top_p,
        greedy=cfg.rollout.greedy,
        stop_token_ids=fmt.stop_token_ids([*cfg.rollout.stop, getattr(probe, "stop", None) or ""]),
        stop=tuple(s for s in cfg.rollout.stop if len(fmt.encode(s)) != 1),
    )
    device = (f"cuda:{ranks.local_rank}" if ranks.world > 1 else "cuda") if on_gpu else "cpu"
    policy.model.to(device)
    log = (on_log or _ignore) if ranks.is_writer else _ignore
    resume_from = checkpoint.latest(out_dir) if resume else None
    state: dict[str, Any] = {}
    if resume_from is None:
        n_params = count_parameters(policy.model)
        on_ranks = f" on {ranks.world} ranks" if ranks.world > 1 else ""
        log(
            f"model {policy.source}: {n_params / 1e6:.2f}M parameters; env {cfg.env.id}; {B}×{G} episodes/step"
            f"{on_ranks}"
        )
        if cfg.warm_start.steps > 0:
            state["warm_start"] = _warm_start(cfg, policy, new_env, fmt, log)
    length_norm = cfg.algorithm.length_norm_constant or cfg.rollout.max_new_tokens * turn_limit
    # ZeRO-3 partitions the module's parameters: the hf sampler keeps its own full copy, refreshed each step from
    # the learner's gathered export
    zero3 = cfg.learner.backend == "deepspeed" and cfg.learner.zero_stage == 3
    sampler = copy.deepcopy(policy.model) if zero3 and cfg.rollout.backend == "hf" else policy.model
    learner = _build_learner(cfg, policy.model, length_norm, device)
    return Run(
        cfg=cfg,
        out_dir=out_dir,
        policy=policy,
        fmt=fmt,
        new_env=new_env,
        learner=learner,
        rollout=_build_rollout(cfg, policy, sampler, out_dir, device),
        sampling=sampling,
        ranks=ranks,
        prompts_per_step=B,
        group_size=G,
        log=log,
        on_metrics=on_metrics if ranks.is_writer else None,
        state=state,
        resume_from=resume_from,
        new_eval_env=new_eval_env if held_out else None,
    )


def _warm_start(
    cfg: RunConfig, policy: Any, new_env: Callable[[], Any], fmt: Any, log: LogCallback
) -> dict[str, Any]:
    from training.learner.warm_start import warm_start

    t0 = time.perf_counter()
    figures = warm_start(
        policy.model,
        new_env,
        fmt,
        cfg.warm_start,
        cfg.run.seed,
        log,
        max_new_tokens=cfg.rollout.max_new_tokens,
    )
    figures[M.WARM_START_SECONDS] = time.perf_counter() - t0
    return figures


def prompts_per_step(cfg: RunConfig) -> int:
    """B, the initial states per step: `rollout.batch_size` / `algorithm.group_size`, which must divide evenly
    (a remainder would split a group: lint GL006)."""
    size, g = cfg.rollout.batch_size, cfg.algorithm.group_size
    if size % g != 0 or size < g:
        lower, upper = max(g, size // g * g), (size // g + 1) * g
        fix = f"{lower} or {upper}" if lower != upper and size > g else f"{g}"
        raise ValueError(
            f"rollout.batch_size: {size} is not a multiple of algorithm.group_size: {g} (episodes per step = "
            f"initial states × group size); set rollout.batch_size to {fix}"
        )
    return size // g


def _build_learner(cfg: RunConfig, model: Any, length_norm: float, device: str) -> LearnerBackend:
    if cfg.learner.backend == "deepspeed":
        from training.learner.deepspeed_backend import build_learner

        return build_learner(cfg, model, length_norm)
    from training.learner.torch_learner import TorchLearner

    distributed.broadcast_parameters(model)  # replicas start identical (no-op on one rank)
    return TorchLearner(
        model,
        cfg.algorithm,
        cfg.optim,
        default_length_norm=length_norm,
        device=device,
        total_steps=cfg.run.steps,
        shared_prefix=cfg.learner.shared_prefix,
    )


def _build_rollout(cfg: RunConfig, policy: Any, sampler: Any, out_dir: Path, device: str) -> RolloutBackend:
    """vLLM from the policy, or the hf sampler on `sampler` (the policy's own module unless ZeRO-3 owns it)."""
    if cfg.rollout.backend == "vllm":
        from training.rollout.vllm_backend import build_rollout

        return build_rollout(cfg, policy, out_dir)
    from training.rollout.hf import HFRolloutBackend

    return HFRolloutBackend(sampler, policy.tokenizer, device=device)


def _ignore(*_args: Any) -> None:
    return None


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
