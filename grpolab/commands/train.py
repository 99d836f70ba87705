"""`grpolab train`: lint a run config, then train it with the fixed pipeline on this machine."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training import metrics as M

if TYPE_CHECKING:
    from training.config_io import LoadedConfig

HELP = "train a run config with the fixed GRPO pipeline (no FILE: the tiny CPU demo)"
DESCRIPTION = """\
Train with the fixed GRPO pipeline: G episodes per initial state, one advantage per episode computed inside its
group, no second normalization. The config is linted first; error findings not acknowledged in `lint.allow`
refuse the run.

Without FILE it trains the tiny CPU demo: a ~0.1M-parameter character model (transformers Qwen2) learning
guess-the-number (N = 8) from a random init, 500 steps: about 25 s on 2 quiet cores (success ~0 → ~0.99).

Writes to --out (default runs/<timestamp>): metrics.jsonl (one line per step), summary.json (with
eval/success_rate on fresh episodes), checkpoints/ (safetensors, resumable: rerun with the same --out).

--nproc N trains on N processes of this machine (ranks over torch.distributed: gloo on CPU, NCCL with
resources.gpus; both learner backends, DeepSpeed ZeRO included). Each rank plays its share of whole groups,
advantages are computed on the full batch, gradients are summed over ranks; rank 0 alone writes metrics.jsonl,
summary.json and the checkpoints. See docs/pipeline.md (several ranks).

Examples:
  grpolab train
  grpolab train n16.yaml --out runs/n16        (see docs/pipeline.md for the N = 16 config)
  grpolab train config.yaml --steps 50
  grpolab train config.yaml --nproc 2          (2 CPU ranks; with learner.backend: deepspeed, ZeRO over both)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", metavar="FILE", help="run config (YAML/JSON); omit for the tiny demo")
    p.add_argument("--steps", type=int, metavar="N", help="override run.steps")
    p.add_argument("--out", metavar="DIR", help="output folder (default: run.output_dir or runs/<timestamp>)")
    p.add_argument("--seed", type=int, metavar="S", help="override run.seed")
    p.add_argument("--no-resume", action="store_true", help="start over even if DIR holds a checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar; print only the summary")
    p.add_argument(
        "--plot", metavar="PNG", help="also draw the run's success curves (per step and per second) to PNG"
    )
    p.add_argument(
        "--nproc",
        type=int,
        default=1,
        metavar="N",
        help="train on N ranks of this machine (one process each; rank 0 writes the run's files); default 1",
    )


class LintRefused(Exception):
    """The config does not validate (status 2) or has error findings not acknowledged in lint.allow (status 1);
    why is printed already."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def lint_gate(
    load: Callable[[], LoadedConfig], refusing: str = "grpolab train: refusing to launch", echo: bool = True
) -> LoadedConfig:
    """The gate before a launch (this command, and the cluster job's entrypoint and `grpolab cluster render`):
    the config `load` returns, once it validates and has no blocking finding. Otherwise LintRefused after printing
    why on stderr, the refusal led by `refusing` (findings only when `echo`: ranks other than 0 stay silent)."""
    from training.config_io import ConfigError
    from training.lint import lint_loaded
    from training.lint.reporters import text_report

    try:
        loaded = load()
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        raise LintRefused(2) from None
    result = lint_loaded(loaded)
    if result.findings and echo:
        print(text_report([result]), file=sys.stderr)
    if result.blocking:
        print(
            f"{refusing}: the config has error findings not acknowledged in lint.allow "
            "(fix them, or add `lint: {allow: [{rule: GLxxx, reason: ...}]}` for a deliberate ablation)",
            file=sys.stderr,
        )
        raise LintRefused(1)
    return loaded


def run(args: argparse.Namespace) -> int:
    from training.distributed import launched_ranks

    rank = launched_ranks()
    if args.nproc < 1:
        print(f"grpolab train: --nproc must be ≥ 1, got {args.nproc}", file=sys.stderr)
        return 2
    from training.config_io import load_file, validate_raw

    try:
        loaded = lint_gate(
            lambda: load_file(args.file) if args.file else validate_raw({}), echo=rank.is_writer
        )
    except LintRefused as refused:
        return refused.status
    cfg = loaded.config
    updates: dict[str, object] = {}
    if args.steps is not None:
        if args.steps < 0:
            print("grpolab train: --steps must be ≥ 0", file=sys.stderr)
            return 2
        updates["steps"] = args.steps
    if args.seed is not None:
        updates["seed"] = args.seed
    if updates:
        cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update=updates)})
    out = Path(args.out or cfg.run.output_dir or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
    if args.nproc > 1 and rank.world == 1:
        return _launch_ranks(args, cfg, out)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from training.accelerator_env import name_cpu_accelerator

    name_cpu_accelerator()  # before transformers imports DeepSpeed, whose probe warns on a CPU-only machine
    from training.models import ModelLoadError
    from training.pipeline import train

    console = Console(stderr=True, quiet=args.quiet or not rank.is_writer)
    progress = Progress(
        TextColumn("[bold]train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("reward {task.fields[reward]:+.3f}  success {task.fields[success]:.2f}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task("train", total=cfg.run.steps, reward=0.0, success=0.0)

    def on_metrics(step: int, m: dict[str, float]) -> None:
        progress.update(task, completed=step, reward=m[M.REWARD_MEAN], success=m[M.SUCCESS_RATE])

    def on_log(line: str) -> None:
        progress.console.print(line)

    console.print(f"output: {out}")
    try:
        with progress:
            summary = train(cfg, out, on_metrics=on_metrics, on_log=on_log, resume=not args.no_resume)
    except (ModelLoadError, ValueError, NotImplementedError) as exc:
        print(f"grpolab train: {exc}", file=sys.stderr)
        return 2
    if not rank.is_writer:
        return 0
    if args.plot and rank.world == 1:  # several ranks: the launching process plots
        plot_run(out, Path(args.plot))
    keys = ["steps", M.EVAL_SUCCESS_RATE_START, M.EVAL_SUCCESS_RATE, M.EVAL_EPISODES, "wall_s", "checkpoint"]
    print(json.dumps({k: summary[k] for k in keys if k in summary}, indent=2))
    return 0


def _launch_ranks(args: argparse.Namespace, cfg: Any, out: Path) -> int:
    """`--nproc N`: refuse what several ranks cannot run, then start N copies of this command (one per rank, the
    output folder fixed here) and wait for them."""
    import os

    from training.distributed import launch
    from training.pipeline import prompts_per_step

    try:
        prompts_per_step(cfg)
    except ValueError as exc:
        print(f"grpolab train: {exc}", file=sys.stderr)
        return 2
    if cfg.rollout.backend == "vllm":
        print(
            "grpolab train: --nproc > 1 needs rollout.backend: hf (vLLM with several ranks: docs/gpu.md)",
            file=sys.stderr,
        )
        return 2
    command = [sys.executable, "-m", "grpolab", "train", *rank_arguments(args, out)]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(cfg.resources.cpu_threads))}
    rc = launch(args.nproc, command, env=env)
    if rc != 0:
        print(f"grpolab train: a rank exited with status {rc} (its message is above)", file=sys.stderr)
        return rc if rc > 0 else 1
    if args.plot:
        plot_run(out, Path(args.plot))
    return 0


def rank_arguments(args: argparse.Namespace, out: Path) -> list[str]:
    """The `grpolab train` arguments of each rank: this command's, with the output folder made explicit."""
    argv = [args.file] if args.file else []
    argv += ["--out", str(out)]
    if args.steps is not None:
        argv += ["--steps", str(args.steps)]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    if args.no_resume:
        argv.append("--no-resume")
    if args.quiet:
        argv.append("--quiet")
    return argv


def plot_run(out: Path, png: Path) -> None:
    """Training success (per step and moving average), evaluation at start/end, entropy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x.strip()]
    summary = json.loads((out / "summary.json").read_text())
    steps = [r["step"] for r in rows]
    succ = [r[M.SUCCESS_RATE] for r in rows]
    ma = [sum(succ[max(0, i - 9) : i + 1]) / len(succ[max(0, i - 9) : i + 1]) for i in range(len(succ))]
    elapsed, acc = [], 0.0
    for r in rows:
        acc += r[M.ROLLOUT_S] + r[M.LEARN_S]
        elapsed.append(acc)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.plot(steps, succ, color="tab:blue", alpha=0.3, label="training success (128 episodes/step)")
    a1.plot(steps, ma, color="tab:blue", label="moving average (10 steps)")
    if M.EVAL_SUCCESS_RATE_START in summary:
        a1.scatter([0], [summary[M.EVAL_SUCCESS_RATE_START]], color="black", zorder=3, label="eval, start")
    if M.EVAL_SUCCESS_RATE in summary:
        a1.scatter(
            [steps[-1] if steps else 0],
            [summary[M.EVAL_SUCCESS_RATE]],
            color="tab:red",
            zorder=3,
            label=f"eval, end ({summary.get('eval/episodes', 0)} fresh episodes)",
        )
    a1.set_xlabel("step")
    a1.set_ylabel("success rate")
    a1.set_ylim(-0.02, 1.02)
    a1.grid(alpha=0.3)
    a1.legend(fontsize=8, loc="lower right")
    a1.set_title(f"{summary.get('env')} — {summary.get('wall_s', 0):.0f} s wall in all", fontsize=10)
    a2.plot(elapsed, ma, color="tab:blue")
    a2.set_xlabel("seconds of rollout + learning")
    a2.set_ylabel("success (moving average)")
    a2.grid(alpha=0.3)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)
