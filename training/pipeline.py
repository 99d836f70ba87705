"""The fixed GRPO pipeline, read top to bottom: rollout → advantages → learn → log → checkpoint.

One step: B initial states, G episodes each (a group, replayed from the same reset seed), multi-turn until
done; one advantage per episode computed inside its group (`training.advantages`), that advantage on every
action token of the episode; no second normalization in the learner unless `algorithm.norm_return` says so
(lint GL001). Subsampling, when configured, keeps or drops whole groups (`transitions` exists only for the
double-normalization ablation).

Everything random derives from (run.seed, step), so a resumed run continues the same trajectory, and the
same seed on CPU gives identical metrics.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from training import checkpoint
from training.advantages import compute_advantages, whiten_transitions
from training.backends import LearnerBackend, RolloutBackend, SamplingParams, TrainBatch, TrainSequence
from training.config import RunConfig
from training.envs.runner import Episode, play_groups

MetricsCallback = Callable[[int, dict[str, float]], None]


def train(
    config: RunConfig,
    out_dir: Path,
    *,
    on_metrics: MetricsCallback | None = None,
    on_log: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = True,
) -> dict[str, Any]:
    """Run (or resume) a training run; writes metrics.jsonl, summary.json and checkpoints/ under `out_dir`."""
    import torch
    from transformers.utils import logging as hf_logging

    from training.envs import make_env
    from training.envs.chat import ConversationFormat
    from training.learner.torch_learner import TorchLearner, rng_state, set_rng_state
    from training.learner.warm_start import warm_start
    from training.models import count_parameters, load_policy
    from training.rollout.hf import HFRolloutBackend

    hf_logging.disable_progress_bar()  # checkpoints are saved often; their shard bars would flood the log
    t_start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = on_log or (lambda _line: None)
    cfg = config
    torch.set_num_threads(cfg.resources.cpu_threads)
    (out_dir / "config.json").write_text(cfg.model_dump_json(indent=2))

    # -- model, environment, backends ----------------------------------------------------------------------
    policy = load_policy(cfg.model, seed=cfg.run.seed)
    fmt = ConversationFormat(policy.tokenizer, policy.fmt)

    def new_env() -> Any:
        return make_env(cfg.env.id, **cfg.env.kwargs)

    probe = new_env()
    turn_limit = cfg.env.max_turns or getattr(getattr(probe, "unwrapped", probe), "max_turns", None) or 1
    G = cfg.algorithm.group_size
    B = max(1, cfg.rollout.batch_size // G)
    sampling = SamplingParams(
        max_new_tokens=cfg.rollout.max_new_tokens,
        temperature=cfg.rollout.temperature,
        top_p=cfg.rollout.top_p,
        greedy=cfg.rollout.greedy,
        stop_token_ids=fmt.stop_token_ids([*cfg.rollout.stop, getattr(probe, "stop", None) or ""]),
        stop=tuple(s for s in cfg.rollout.stop if len(fmt.encode(s)) != 1),
    )
    device = "cuda" if cfg.resources.gpus > 0 and torch.cuda.is_available() else "cpu"
    policy.model.to(device)
    length_norm = cfg.algorithm.length_norm_constant or cfg.rollout.max_new_tokens * turn_limit
    if cfg.learner.backend == "deepspeed":
        from training.learner.deepspeed_backend import build_learner

        learner: LearnerBackend = build_learner(cfg, policy.model, length_norm)
    else:
        learner = TorchLearner(
            policy.model,
            cfg.algorithm,
            cfg.optim,
            default_length_norm=length_norm,
            device=device,
            total_steps=cfg.run.steps,
            shared_prefix=cfg.learner.shared_prefix,
        )
    if cfg.rollout.backend == "vllm":
        from training.rollout.vllm_backend import build_rollout

        rollout: RolloutBackend = build_rollout(cfg, policy, out_dir)
    else:
        rollout = HFRolloutBackend(policy.model, policy.tokenizer, device=device)
    pool: list[Any] = []

    def play(seeds: list[int], group: int, sample_seed: int, params: SamplingParams = sampling):
        p = SamplingParams(**{**params.__dict__, "seed": sample_seed})
        return play_groups(new_env, seeds, group, rollout, fmt, p, cfg.env.max_turns, pool)

    def evaluate(n: int, tag: int) -> dict[str, float]:
        rng = np.random.default_rng([cfg.run.seed, 2, tag])
        succ, ret, chunk = [], [], 512
        for k in range(0, n, chunk):
            seeds = rng.integers(0, 2**31 - 1, size=min(chunk, n - k)).tolist()
            eps = [e for g in play(seeds, 1, int(rng.integers(2**31))) for e in g]
            succ += [e.success for e in eps]
            ret += [e.ret for e in eps]
        return {
            "success_rate": float(np.mean(succ)) if succ else 0.0,
            "reward_mean": float(np.mean(ret)) if ret else 0.0,
        }

    # -- resume or start -----------------------------------------------------------------------------------
    metrics_path = out_dir / "metrics.jsonl"
    start_step, state = 0, {}
    ckpt = checkpoint.latest(out_dir) if resume else None
    if ckpt is not None:
        learner.load_checkpoint(ckpt)
        state, rng = checkpoint.load_state(ckpt)
        set_rng_state(rng)
        start_step = int(state["step"])
        rollout.sync_weights(learner.export_weights())
        _truncate_metrics(metrics_path, start_step)
        log(f"resumed from {ckpt.name} (step {start_step})")
    else:
        metrics_path.write_text("")
        n_params = count_parameters(policy.model)
        log(
            f"model {policy.source}: {n_params / 1e6:.2f}M parameters; env {cfg.env.id}; {B}×{G} episodes/step"
        )
        if cfg.warm_start.steps > 0:
            t0 = time.perf_counter()
            state["warm_start"] = warm_start(policy.model, new_env, fmt, cfg.warm_start, cfg.run.seed, log)
            state["warm_start"]["warm_start/seconds"] = time.perf_counter() - t0
        rollout.sync_weights(learner.export_weights())  # the warm start changed the weights
        if cfg.run.eval_episodes:
            state["eval_start"] = evaluate(min(cfg.run.eval_episodes, 512), tag=0)
            log(f"start: eval success {state['eval_start']['success_rate']:.3f}")

    # -- the loop ------------------------------------------------------------------------------------------
    stopped = False
    step = start_step
    last: dict[str, float] = {}
    for step in range(start_step + 1, cfg.run.steps + 1):
        if should_stop is not None and should_stop():
            stopped = True
            step -= 1
            break
        rng = np.random.default_rng([cfg.run.seed, 1, step])
        t0 = time.perf_counter()
        seeds = rng.integers(0, 2**31 - 1, size=B).tolist()
        groups = play(seeds, G, int(rng.integers(2**31)))
        t_roll = time.perf_counter() - t0

        batch, adv_stats = build_batch(groups, cfg, rng)

        t1 = time.perf_counter()
        sleep = getattr(rollout, "sleep", None)  # vLLM frees its GPU memory while the learner runs
        if sleep is not None:
            sleep()
        learn = learner.step(batch)
        rollout.sync_weights(learner.export_weights())
        t_learn = time.perf_counter() - t1

        episodes = [e for g in groups for e in g]
        sampled = sum(sum(e.action_tokens) for e in episodes)
        last = {
            "rollout/reward_mean": float(np.mean([e.ret for e in episodes])),
            "rollout/success_rate": float(np.mean([e.success for e in episodes])),
            "rollout/episode_len": float(np.mean([e.num_turns for e in episodes])),
            "rollout/invalid_rate": float(np.mean([e.invalid for e in episodes])),
            **adv_stats,
            **learn,
            "time/rollout_s": t_roll,
            "time/learn_s": t_learn,
            "throughput/tokens_per_s": sampled / max(t_roll + t_learn, 1e-9),
        }
        if cfg.run.eval_every and step % cfg.run.eval_every == 0 and cfg.run.eval_episodes:
            ev = evaluate(cfg.run.eval_episodes, tag=step)
            last["eval/success_rate"] = ev["success_rate"]
        with metrics_path.open("a") as f:
            f.write(json.dumps({"step": step, **last}) + "\n")
        if on_metrics is not None:
            on_metrics(step, last)
        if cfg.run.checkpoint_every and step % cfg.run.checkpoint_every == 0 and step < cfg.run.steps:
            checkpoint.save(out_dir, step, learner, policy.tokenizer, {**state, "rng": rng_state()})

    # -- final checkpoint, evaluation, summary -------------------------------------------------------------
    final_ckpt = checkpoint.save(out_dir, step, learner, policy.tokenizer, {**state, "rng": rng_state()})
    summary: dict[str, Any] = {
        "steps": step,
        "stopped": stopped,
        "env": cfg.env.id,
        "model": cfg.model.path,
        "parameters": count_parameters(policy.model),
        "checkpoint": str(final_ckpt),
        "final": last,
        **{f"eval/{k}_start": v for k, v in state.get("eval_start", {}).items()},
        **state.get("warm_start", {}),
    }
    if cfg.run.eval_episodes and not stopped:
        t0 = time.perf_counter()
        ev = evaluate(max(cfg.run.eval_episodes, 512), tag=10**6)
        summary.update({f"eval/{k}": v for k, v in ev.items()})
        summary["eval/episodes"] = max(cfg.run.eval_episodes, 512)
        summary["eval/seconds"] = time.perf_counter() - t0
        log(f"eval: success {ev['success_rate']:.3f} on {summary['eval/episodes']} fresh episodes")
    rollout.close()
    learner.close()
    summary["wall_s"] = time.perf_counter() - t_start
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    return summary


def build_batch(
    groups: list[list[Episode]], cfg: RunConfig, rng: np.random.Generator
) -> tuple[TrainBatch, dict[str, float]]:
    """Advantages (per group, float64) → optional subsample → optional norm_return → token-level batch."""
    algo = cfg.algorithm
    adv = compute_advantages(
        [[e.rewards for e in g] for g in groups],
        algo.estimator,
        gamma=algo.gamma,
        std_eps=algo.std_eps,
        step_token_counts=[[e.action_tokens for e in g] for g in groups],
    )
    # transitions = (group, episode, turn) that go to the learner
    keep_groups = list(range(len(groups)))
    sub = cfg.rollout.subsample
    if sub.unit == "groups" and sub.size is not None and sub.size < len(groups):
        keep_groups = sorted(rng.choice(len(groups), size=sub.size, replace=False).tolist())
    trans = [
        (g, e, t) for g in keep_groups for e in range(len(groups[g])) for t in range(groups[g][e].num_turns)
    ]
    if sub.unit == "transitions" and sub.size is not None and sub.size < len(trans):
        # the seed's way: uniform over turns, ignoring group and episode boundaries (ablation only, GL006)
        idx = sorted(rng.choice(len(trans), size=sub.size, replace=False).tolist())
        trans = [trans[i] for i in idx]
    values = [adv[g][e][t] for g, e, t in trans]
    if algo.norm_return:
        values = whiten_transitions(values)  # the seed's second normalization (GL001)
    per_ep: dict[tuple[int, int], dict[int, float]] = {}
    for (g, e, t), v in zip(trans, values, strict=True):
        per_ep.setdefault((g, e), {})[t] = v

    seqs: list[TrainSequence] = []
    for (g, e), turns in per_ep.items():
        ep = groups[g][e]
        mask = [1 if (m and ti in turns) else 0 for m, ti in zip(ep.action_mask, ep.turn_index, strict=True)]
        seqs.append(
            TrainSequence(
                token_ids=ep.token_ids,
                action_mask=mask,
                advantages=[
                    turns.get(ti, 0.0) if m else 0.0 for m, ti in zip(mask, ep.turn_index, strict=True)
                ],
                behaviour_logprobs=ep.logprobs,
                group_id=g,
                turn_index=ep.turn_index,
            )
        )
    batch = TrainBatch(
        sequences=seqs, temperature=1.0 if cfg.rollout.greedy else (cfg.rollout.temperature or 1.0)
    )
    return batch, advantage_stats(groups, trans, values)


def advantage_stats(
    groups: list[list[Episode]], trans: list[tuple[int, int, int]], values: list[float]
) -> dict[str, float]:
    """adv/* over the transitions the learner sees, plus diagnostics of double normalization:
    `diag/flat_*`: transitions of groups with no signal (every episode failed, all returns equal) — 0 in the fixed
    pipeline; `diag/len_adv_corr`: correlation between an episode's turn count and its transitions' advantage."""
    if not values:
        return {"adv/mean": 0.0, "adv/std": 0.0, "adv/zero_frac": 1.0}
    v = np.asarray(values, dtype=np.float64)
    flat = {
        g
        for g, grp in enumerate(groups)
        if not any(e.success for e in grp) and len({e.ret for e in grp}) == 1
    }
    fv = np.asarray([x for (g, _, _), x in zip(trans, values, strict=True) if g in flat])
    lens = np.asarray([groups[g][e].num_turns for g, e, _ in trans], dtype=np.float64)
    corr = float(np.corrcoef(lens, v)[0, 1]) if lens.std() > 0 and v.std() > 0 else 0.0
    return {
        "adv/mean": float(v.mean()),
        "adv/std": float(v.std()),
        "adv/zero_frac": float(np.mean(np.abs(v) < 1e-6)),
        "diag/flat_frac": float(fv.size / v.size),
        "diag/flat_nonzero_frac": float(np.mean(np.abs(fv) >= 1e-6)) if fv.size else 0.0,
        "diag/flat_adv_mean": float(fv.mean()) if fv.size else 0.0,
        "diag/len_adv_corr": corr if math.isfinite(corr) else 0.0,
        "batch/transitions": float(v.size),
    }


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metric lines written after the checkpoint we resume from (they will be recomputed identically)."""
    if not path.exists():
        return
    keep = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= step]
    path.write_text("".join(ln + "\n" for ln in keep))
