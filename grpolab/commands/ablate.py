"""`grpolab ablate double-norm`: the fixed pipeline vs the seed's double normalization, several seeds each."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HELP = "ablations: `double-norm` trains fixed vs double-normalized advantages and writes a report to docs/"
DESCRIPTION = """\
double-norm: trains the fixed pipeline (group advantages, whole groups kept, no second normalization) against
the seed's way (group advantages, then a random subsample of transitions, then learner-side whitening over the
subsample: `norm_return`) for --seeds seeds each, on a level where episode lengths vary and whole groups often
fail, and writes docs/ablation.md (table + advantage diagnostics) and docs/ablation-double-norm.png.

Both arms learn from about the same number of transitions per step: the fixed arm keeps half of the groups,
the double arm a random subsample of --transitions turns.

Example:
  grpolab ablate double-norm --seeds 5
"""

ARMS = ("fixed", "double")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("which", choices=["double-norm"], help="the ablation to run")
    p.add_argument("--seeds", type=int, default=5, help="seeds per arm (default 5)")
    p.add_argument("--steps", type=int, default=200, help="RL steps per run (default 200)")
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


def arm_config(arm: str, seed: int, steps: int, env: str, transitions: int) -> Any:
    from training.config import RunConfig

    easy = env.endswith("-n8")
    raw: dict[str, Any] = {
        "env": {"id": env},
        "warm_start": {"steps": 0 if easy else 300, "player": "random_valid"},
        "optim": {"lr": 2e-3 if easy else 1e-3},
        "run": {"steps": steps, "seed": seed, "eval_episodes": 512, "checkpoint_every": 0},
    }
    if arm == "fixed":
        raw["rollout"] = {"subsample": {"unit": "groups", "size": 8}}
    else:
        raw["rollout"] = {"subsample": {"unit": "transitions", "size": transitions}}
        raw["algorithm"] = {"norm_return": True}
        raw["lint"] = {
            "allow": [
                {"rule": "GL001", "reason": "ablation: reproduce the seed's double normalization"},
                {"rule": "GL006", "reason": "ablation: the seed's transition subsampling"},
            ]
        }
    return RunConfig.model_validate(raw)


def run(args: argparse.Namespace) -> int:
    if args.seeds < 1 or args.steps < 1:
        print("grpolab ablate: --seeds and --steps must be ≥ 1", file=sys.stderr)
        return 2
    from training.pipeline import train

    runs = Path(args.runs)
    if not args.report_only:
        for seed in range(args.seeds):
            for arm in ARMS:
                out = runs / f"{arm}-seed{seed}"
                if (out / "summary.json").exists():
                    print(f"{out}: done already")
                    continue
                t0 = time.perf_counter()
                cfg = arm_config(arm, seed, args.steps, args.env, args.transitions)
                s = train(cfg, out, resume=True)
                print(
                    f"{arm} seed {seed}: eval {s.get('eval/success_rate', 0):.3f} in {time.perf_counter() - t0:.0f} s"
                )
    path = write_report(runs, Path(args.docs), args)
    print(f"wrote {path}")
    return 0


def load_runs(runs: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {a: [] for a in ARMS}
    for arm in ARMS:
        for d in sorted(runs.glob(f"{arm}-seed*")):
            if not (d / "summary.json").exists():
                continue
            rows = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines() if x.strip()]
            out[arm].append({"summary": json.loads((d / "summary.json").read_text()), "rows": rows, "dir": d})
    return out


def _ma(xs: list[float], k: int = 10) -> list[float]:
    out, acc = [], 0.0
    for i, x in enumerate(xs):
        acc += x - (xs[i - k] if i >= k else 0.0)
        out.append(acc / min(i + 1, k))
    return out


def _steps_to(rows: list[dict[str, Any]], level: float = 0.8) -> int | None:
    ma = _ma([r["rollout/success_rate"] for r in rows])
    return next((rows[i]["step"] for i, v in enumerate(ma) if i >= 9 and v >= level), None)


def _mean_std(xs: list[float]) -> str:
    import numpy as np

    if not xs:
        return "–"
    return f"{np.mean(xs):.3f} ± {np.std(xs):.3f}"


def write_report(runs: Path, docs: Path, args: argparse.Namespace) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    data = load_runs(runs)
    docs.mkdir(parents=True, exist_ok=True)
    png = docs / "ablation-double-norm.png"
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    colors = {"fixed": "tab:blue", "double": "tab:red"}
    series = [
        ("rollout/success_rate", "training success (moving avg 10)", True),
        ("diag/flat_adv_mean", "mean advantage on all-fail-group transitions", False),
        ("diag/len_adv_corr", "corr(episode length, advantage)", False),
    ]
    for ax, (key, title, smooth) in zip(axes, series, strict=True):
        for arm, items in data.items():
            if not items:
                continue
            n = min(len(it["rows"]) for it in items)
            m = np.array([[r.get(key, 0.0) for r in it["rows"][:n]] for it in items])
            if smooth:
                m = np.array([_ma(list(row)) for row in m])
            steps = np.arange(1, n + 1)
            mu, sd = m.mean(0), m.std(0)
            ax.plot(steps, mu, color=colors[arm], label=f"{arm} ({len(items)} seeds)")
            ax.fill_between(steps, mu - sd, mu + sd, color=colors[arm], alpha=0.2)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)

    lines = [
        "| arm | runs | eval success (512 fresh episodes) | steps to 0.8 (MA-10 training success) | reached 0.8 |",
        "|---|---|---|---|---|",
    ]
    diag = [
        "| arm | share of transitions in all-fail groups | of those, share with nonzero advantage | their mean "
        "advantage | corr(episode length, advantage) |",
        "|---|---|---|---|---|",
    ]
    for arm, items in data.items():
        ev = [it["summary"].get("eval/success_rate", 0.0) for it in items]
        st = [_steps_to(it["rows"]) for it in items]
        reached = [s for s in st if s is not None]
        lines.append(
            f"| {arm} | {len(items)} | {_mean_std(ev)} | {_mean_std([float(s) for s in reached])} | "
            f"{len(reached)}/{len(items)} |"
        )
        rows = [r for it in items for r in it["rows"]]

        def avg(key: str, rows: list[dict[str, Any]] = rows) -> str:
            vals = [r[key] for r in rows if key in r]
            return f"{np.mean(vals):+.3f}" if vals else "–"

        diag.append(
            f"| {arm} | {avg('diag/flat_frac')} | {avg('diag/flat_nonzero_frac')} | {avg('diag/flat_adv_mean')} | "
            f"{avg('diag/len_adv_corr')} |"
        )
    per_seed = ["| arm | seed | eval success | steps to 0.8 | wall s |", "|---|---|---|---|---|"]
    for arm, items in data.items():
        for it in items:
            s = it["summary"]
            per_seed.append(
                f"| {arm} | {it['dir'].name.split('seed')[-1]} | {s.get('eval/success_rate', 0):.3f} | "
                f"{_steps_to(it['rows']) or 'never'} | {s.get('wall_s', 0):.0f} |"
            )
    md = docs / "ablation.md"
    first = next((it for items in data.values() for it in items), None)
    env = first["summary"]["env"] if first else "?"
    md.write_text(
        ABLATION_MD.format(
            env=env,
            table="\n".join(lines),
            diag="\n".join(diag),
            per_seed="\n".join(per_seed),
            steps=first["summary"]["steps"] if first else "?",
            command=f"grpolab ablate double-norm --seeds {args.seeds} --steps {args.steps} --env {args.env} "
            f"--transitions {args.transitions}",
        )
    )
    return md


ABLATION_MD = """# Ablation: fixed pipeline vs double normalization

Generated by `{command}` (edit the analysis below by hand; the tables and the plot are regenerated).

Setup: `{env}`, {steps} RL steps per run (for N = 8 from a random init, lr 2e-3; other levels after a 300-step
format-only warm start, lr 1e-3), the demo's character model, 16 initial states × G = 8 episodes per step.
- **fixed**: GRPO advantage per episode inside its group (float64), 8 of the 16 groups kept whole (about as
  many transitions as the double arm keeps), no second normalization.
- **double** (the seed's way): the same GRPO advantages, then a uniformly random subsample of transitions (turns)
  ignoring groups, then the learner-side `norm_return` whitening over that subsample (each transition once,
  population std + 1e-9).

![curves](ablation-double-norm.png)

## Learning

{table}

## Advantage diagnostics (averaged over all steps and seeds)

An *all-fail group* is a group in which every episode failed with the same return: it carries no learning signal,
and its correct advantage is exactly 0.

{diag}

## Per run

{per_seed}
"""
