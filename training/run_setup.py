"""Building a run before its first step (`setup`): the policy (warm-started on a fresh run), the environments,
the sampling parameters, the rollout and learner backends, and this process's rank. training/pipeline.py runs
the steps on what this builds.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from training import checkpoint, distributed
from training import metrics as M
from training.backends import LearnerBackend, RolloutBackend, SamplingParams
from training.config import RunConfig

MetricsCallback = Callable[[int, dict[str, float]], None]
LogCallback = Callable[[str], None]


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
    from transformers.utils import logging as hf_logging

    from training.envs import make_run_env
    from training.envs.chat import ConversationFormat
    from training.lora import apply_lora
    from training.models import load_policy

    hf_logging.disable_progress_bar()  # checkpoints are saved often; their shard bars would flood the log
    B, G = prompts_per_step(cfg), cfg.algorithm.group_size
    ranks, on_gpu = _start_process(cfg, out_dir)
    policy = apply_lora(load_policy(cfg.model, seed=cfg.run.seed), cfg.model.lora, seed=cfg.run.seed)
    system = cfg.env.dataset.system_prompt if cfg.env.dataset else None
    fmt = ConversationFormat(policy.tokenizer, policy.fmt, system=system)
    new_env = partial(make_run_env, cfg.env)
    probe = new_env()
    # An env with a held-out split (grpolab:ReasoningGym-v0) is evaluated on it, never on training problems.
    held_out = bool(getattr(getattr(probe, "unwrapped", probe), "has_eval_split", False))
    turn_limit = cfg.env.max_turns or getattr(getattr(probe, "unwrapped", probe), "max_turns", None) or 1
    sampling = _sampling_params(cfg, fmt, probe)
    device = (f"cuda:{ranks.local_rank}" if ranks.world > 1 else "cuda") if on_gpu else "cpu"
    policy.model.to(device)
    log = (on_log or _ignore) if ranks.is_writer else _ignore
    resume_from = checkpoint.latest(out_dir) if resume else None
    state = _fresh_start(cfg, policy, new_env, fmt, log, ranks) if resume_from is None else {}
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
        new_eval_env=partial(make_run_env, cfg.env, split="eval") if held_out else None,
    )


def _start_process(cfg: RunConfig, out_dir: Path) -> tuple[distributed.Ranks, bool]:
    """This process's rank (and whether it runs on a GPU) and its torch threads; rank 0 creates `out_dir` and
    writes the resolved config.json there."""
    import torch

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
    return ranks, on_gpu


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


def _sampling_params(cfg: RunConfig, fmt: Any, probe: Any) -> SamplingParams:
    """The training sampling settings; stop strings of one token become stop token ids (with the env's own)."""
    return SamplingParams(
        max_new_tokens=cfg.rollout.max_new_tokens,
        temperature=cfg.rollout.temperature,
        top_p=cfg.rollout.top_p,
        greedy=cfg.rollout.greedy,
        stop_token_ids=fmt.stop_token_ids([*cfg.rollout.stop, getattr(probe, "stop", None) or ""]),
        stop=tuple(s for s in cfg.rollout.stop if len(fmt.encode(s)) != 1),
    )


def _fresh_start(
    cfg: RunConfig,
    policy: Any,
    new_env: Callable[[], Any],
    fmt: Any,
    log: LogCallback,
    ranks: distributed.Ranks,
) -> dict[str, Any]:
    """A fresh run's first log line, then the warm start when configured (its figures go to the run's state)."""
    from training.models import count_parameters

    n_params = count_parameters(policy.model)
    on_ranks = f" on {ranks.world} ranks" if ranks.world > 1 else ""
    B, G = prompts_per_step(cfg), cfg.algorithm.group_size
    log(
        f"model {policy.source}: {n_params / 1e6:.2f}M parameters; env {cfg.env.id}; {B}×{G} episodes/step{on_ranks}"
    )
    state: dict[str, Any] = {}
    if cfg.warm_start.steps > 0:
        state["warm_start"] = _warm_start(cfg, policy, new_env, fmt, log)
    return state


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
