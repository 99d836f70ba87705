"""`grpolab ablate double-norm`: the fixed pipeline vs the seed's double normalization, several seeds each.

The arms' configs and the sweep body: _ablate_arms.py; the report (docs/ablation.md and its plot):
_ablate_report.py. Both are importable from here too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from grpolab.commands._ablate_arms import ALLOW, ARMS, arm_config, arm_loaded, arm_of, arm_raw, sweep_body
from grpolab.commands._ablate_report import COLORS, diagnostics, load_runs, write_report

__all__ = [
    "ALLOW",
    "ARMS",
    "COLORS",
    "DESCRIPTION",
    "HELP",
    "add_arguments",
    "arm_config",
    "arm_loaded",
    "arm_of",
    "arm_raw",
    "diagnostics",
    "load_runs",
    "run",
    "submit_sweep",
    "sweep_body",
    "train_arms",
    "write_report",
]

HELP = "ablations: `double-norm` trains fixed vs double-normalized advantages and writes a report to docs/"
DESCRIPTION = """\
double-norm: trains, for --seeds seeds each, on a level where episode lengths vary and whole groups often fail:
  fixed   the fixed pipeline as shipped: group advantages, all groups of the step, no second normalization;
  double  the seed's way: group advantages, then a random subsample of --transitions transitions (turns)
          ignoring groups, then learner-side whitening over the subsample (`norm_return`; lint GL001 + GL006
          acknowledged in the config);
  whiten  group advantages, then `norm_return` whitening over all transitions, no subsample (GL001
          acknowledged): separates the second normalization from the random subsample.
Then writes docs/ablation.md (tables + advantage diagnostics) and docs/ablation-double-norm.png. Each run goes
to <runs>/<arm>-seed<k>; finished runs are kept and skipped, so an interrupted ablation resumes.

With --server URL the ablation is submitted to a running GRPO Lab as one sweep instead (nothing trains here):
the 2 × 2 factorial of the second normalization (`algorithm.norm_return`) and the transition subsample
(`rollout.subsample.unit`) × --seeds seeds: fixed, whiten, double and the subsample alone; with --arms fixed,whiten
only the normalization varies. Anyone can open it on the sweep's page (curves with bands over seeds, final table).

Examples:
  grpolab ablate double-norm --seeds 5
  grpolab ablate double-norm --seeds 3 --steps 100 --server http://lab:8000
  grpolab ablate double-norm --arms fixed,double --seeds 3
  grpolab ablate double-norm --report-only
"""


def _arms(text: str) -> tuple[str, ...]:
    names = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in names if a not in ARMS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown arm(s) {', '.join(bad) or '(none)'}; choose from {','.join(ARMS)}"
        )
    return tuple(a for a in ARMS if a in names)  # fixed order: tables and plots always list arms alike


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("which", choices=["double-norm"], help="the ablation to run")
    p.add_argument("--seeds", type=int, default=5, help="seeds per arm (default 5)")
    p.add_argument("--steps", type=int, default=200, help="RL steps per run (default 200)")
    p.add_argument(
        "--arms",
        type=_arms,
        default=ARMS,
        help=f"comma-separated arms to train and report (default {','.join(ARMS)})",
    )
    p.add_argument(
        "--env",
        default="grpolab:GuessNumber-v0-n8",
        help="environment (default the N = 8 level from a random init: episodes last 1–4 turns and, early on, "
        "whole groups fail; other levels get a 300-step format-only warm start and lr 1e-3)",
    )
    p.add_argument("--transitions", type=int, default=200, help="transitions kept per step by the double arm")
    p.add_argument("--runs", default="runs/ablate-double-norm", help="where the runs go")
    p.add_argument("--docs", default="docs", help="where ablation.md and the PNG go")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from existing runs")
    p.add_argument(
        "--server",
        metavar="URL",
        default=None,
        help="submit the ablation to this GRPO Lab as a sweep (token: --token or $GRPOLAB_TOKEN)",
    )
    p.add_argument("--token", default=None, help="API token for --server (default: $GRPOLAB_TOKEN)")


def submit_sweep(args: argparse.Namespace) -> int:
    from grpolab.commands._client import ApiFailure, Client
    from grpolab.commands.sweep import report_refusal

    args.url = args.server
    client = Client(args)
    body = sweep_body(tuple(args.arms), args.seeds, args.steps, args.env, args.transitions)
    try:
        sweep = client.request("POST", "/sweeps", json=body)
    except ApiFailure as exc:
        return report_refusal(exc, "<ablate>")
    for item in sweep["items"]:
        print(f"{item['id']}  {item['name']}")
    print(sweep["id"])
    print(f"queued {sweep['runs']} runs → {client.url}/sweeps/{sweep['id']}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.seeds < 1 or args.steps < 1:
        print("grpolab ablate: --seeds and --steps must be ≥ 1", file=sys.stderr)
        return 2
    if args.server:
        if args.report_only:
            print(
                "grpolab ablate: --report-only reads local runs; the sweep's page is the server's report",
                file=sys.stderr,
            )
            return 2
        return submit_sweep(args)
    arms: tuple[str, ...] = tuple(args.arms)
    runs = Path(args.runs)
    if not args.report_only:
        code = train_arms(args, arms, runs)
        if code:
            return code
    path = write_report(runs, Path(args.docs), args)
    print(f"wrote {path}")
    return 0


def train_arms(args: argparse.Namespace, arms: tuple[str, ...], runs: Path) -> int:
    """Train every arm × seed not finished yet under `runs` (0), or refuse with the exit code: 2 when a run folder
    holds another config, 1 when an arm has lint errors it does not acknowledge."""
    from training.pipeline import train

    for seed in range(args.seeds):
        for arm in arms:
            out = runs / f"{arm}-seed{seed}"
            loaded = arm_loaded(arm, seed, args.steps, args.env, args.transitions)
            if (out / "config.json").exists():
                stored = json.loads((out / "config.json").read_text())
                if stored != json.loads(loaded.config.model_dump_json()):
                    print(
                        f"grpolab ablate: {out} holds a run with another config (an older design of the "
                        "ablation, or other --steps/--env/--transitions); use another --runs or remove it",
                        file=sys.stderr,
                    )
                    return 2
            if (out / "summary.json").exists():
                print(f"{out}: done already")
                continue
            blocking = _lint_blocking(loaded)
            if blocking:
                print(
                    f"grpolab ablate: {arm}: unacknowledged lint errors: {'; '.join(blocking)}",
                    file=sys.stderr,
                )
                return 1
            t0 = time.perf_counter()
            s = train(loaded.config, out, resume=True)
            print(
                f"{arm} seed {seed}: eval {s.get('eval/success_rate', 0):.3f} in {time.perf_counter() - t0:.0f} s",
                flush=True,
            )
    return 0


def _lint_blocking(loaded: Any) -> list[str]:
    try:
        from training.lint import lint_loaded
    except ImportError:  # lint package absent: the configs are validated already
        return []
    return [f"{f.rule}: {f.message}" for f in lint_loaded(loaded).blocking]
