"""The report of a local `grpolab ablate double-norm`: docs/ablation.md (tables, advantage diagnostics, the
hand-written analysis kept across regenerations) and docs/ablation-double-norm.png, from the runs' metrics."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from grpolab.commands._ablate_arms import ARMS, arm_of
from training import metrics as M

COLORS = {"fixed": "tab:blue", "double": "tab:red", "whiten": "tab:green"}

#: arm -> its finished runs, each {"summary": summary.json, "rows": metrics.jsonl rows, "dir": its folder}
Runs = dict[str, list[dict[str, Any]]]


def load_runs(runs: Path, arms: tuple[str, ...] = ARMS) -> Runs:
    out: Runs = {a: [] for a in arms}
    for arm in arms:
        for d in sorted(runs.glob(f"{arm}-seed*")):
            if not (d / "summary.json").exists():
                continue
            if (d / "config.json").exists() and arm_of(json.loads((d / "config.json").read_text())) != arm:
                print(
                    f"grpolab ablate: skipping {d}: its config is not the current `{arm}` arm",
                    file=sys.stderr,
                )
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
    ma = _ma([r[M.SUCCESS_RATE] for r in rows])
    return next((rows[i]["step"] for i, v in enumerate(ma) if i >= 9 and v >= level), None)


def _mean_std(xs: list[float], fmt: str = ".3f") -> str:
    import numpy as np

    if not xs:
        return "–"
    return f"{np.mean(xs):{fmt}} ± {np.std(xs):{fmt}}"


def _adv_rms(r: dict[str, Any]) -> float | None:
    """Root-mean-square advantage per transition the learner sees: √(mean² + population std²)."""
    if M.ADV_MEAN not in r or M.ADV_STD not in r:
        return None
    return math.sqrt(r[M.ADV_MEAN] ** 2 + r[M.ADV_STD] ** 2)


def diagnostics(rows: list[dict[str, Any]], max_grad_norm: float = 1.0) -> dict[str, float | None]:
    """Per-arm advantage diagnostics from metrics rows (all steps of all seeds pooled).

    The conditional values on all-fail-group transitions (share nonzero, mean advantage) average only the
    steps that had such transitions; the pipeline logs 0 for them otherwise."""
    import numpy as np

    def mean(vals: list[float]) -> float | None:
        return float(np.mean(vals)) if vals else None

    flat_rows = [r for r in rows if r.get(M.FLAT_FRAC, 0.0) > 0]
    return {
        "transitions": mean([r[M.BATCH_TRANSITIONS] for r in rows if M.BATCH_TRANSITIONS in r]),
        "flat_frac": mean([r[M.FLAT_FRAC] for r in rows if M.FLAT_FRAC in r]),
        "flat_nonzero": mean([r[M.FLAT_NONZERO_FRAC] for r in flat_rows if M.FLAT_NONZERO_FRAC in r]),
        "flat_adv": mean([r[M.FLAT_ADV_MEAN] for r in flat_rows if M.FLAT_ADV_MEAN in r]),
        "len_corr": mean([r[M.LEN_ADV_CORR] for r in rows if M.LEN_ADV_CORR in r]),
        "adv_rms": mean([v for r in rows if (v := _adv_rms(r)) is not None]),
        "grad_norm": mean([r[M.GRAD_NORM] for r in rows if M.GRAD_NORM in r]),
        "clipped": mean([float(r[M.GRAD_NORM] > max_grad_norm) for r in rows if M.GRAD_NORM in r]),
    }


def write_report(runs: Path, docs: Path, args: argparse.Namespace) -> Path:
    """docs/ablation.md and docs/ablation-double-norm.png from the finished runs of `args.arms` under `runs`; the
    hand-written analysis after ANALYSIS_MARK in an existing ablation.md is kept."""
    arms: tuple[str, ...] = tuple(getattr(args, "arms", ARMS))
    data = load_runs(runs, arms)
    docs.mkdir(parents=True, exist_ok=True)
    plot(data, docs / "ablation-double-norm.png")
    md = docs / "ablation.md"
    first = next((it for items in data.values() for it in items), None)
    env = first["summary"]["env"] if first else "?"
    analysis = ""
    if md.exists():  # keep the hand-written analysis across regenerations
        old = md.read_text()
        i = old.find(ANALYSIS_MARK)
        if i >= 0:
            analysis = old[i:]
    md.write_text(
        ABLATION_MD.format(
            env=env,
            table="\n".join(_learning_table(data)),
            diag="\n".join(_diagnostics_table(data)),
            per_seed="\n".join(_per_run_table(data)),
            steps=first["summary"]["steps"] if first else "?",
            transitions=args.transitions,
            command=f"grpolab ablate double-norm --seeds {args.seeds} --steps {args.steps} "
            f"--arms {','.join(arms)} --env {args.env} --transitions {args.transitions}",
        )
        + (("\n" + analysis) if analysis else "")
    )
    return md


def plot(data: Runs, png: Path) -> None:
    """Four panels, each arm's mean over seeds with a ±1 std band: training success, the mean advantage on
    all-fail-group transitions, the RMS advantage per transition and the gradient norm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    series = [
        (M.SUCCESS_RATE, "training success (moving avg 10)", True),
        (M.FLAT_ADV_MEAN, "mean advantage on all-fail-group transitions", False),
        ("adv_rms", "RMS advantage per transition (moving avg 10)", True),
        (M.GRAD_NORM, "gradient norm before clipping at 1.0 (moving avg 10)", True),
    ]
    for ax, (key, title, smooth) in zip(axes.flat, series, strict=True):
        for arm, items in data.items():
            if not items:
                continue
            n = min(len(it["rows"]) for it in items)

            def value(r: dict[str, Any], key: str = key) -> float:
                return (_adv_rms(r) or 0.0) if key == "adv_rms" else r.get(key, 0.0)

            m = np.array([[value(r) for r in it["rows"][:n]] for it in items])
            if smooth:
                m = np.array([_ma(list(row)) for row in m])
            steps = np.arange(1, n + 1)
            mu, sd = m.mean(0), m.std(0)
            ax.plot(steps, mu, color=COLORS[arm], label=f"{arm} ({len(items)} seeds)")
            ax.fill_between(steps, mu - sd, mu + sd, color=COLORS[arm], alpha=0.2)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    axes.flat[0].legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _learning_table(data: Runs) -> list[str]:
    """Per arm: final evaluation, late training success, and how many steps it took to reach 0.6 and 0.8."""
    import numpy as np

    lines = [
        "| arm | runs | eval success (512 fresh episodes) | training success, last 20 steps "
        "| steps to 0.6 (MA-10 training success) | reached 0.6 | steps to 0.8 | reached 0.8 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for arm, items in data.items():
        ev = [it["summary"].get(M.EVAL_SUCCESS_RATE, 0.0) for it in items]
        late = [float(np.mean([r[M.SUCCESS_RATE] for r in it["rows"][-20:]])) for it in items]
        cells = [f"{arm}", f"{len(items)}", _mean_std(ev), _mean_std(late)]
        for level in (0.6, 0.8):
            reached = [float(s) for it in items if (s := _steps_to(it["rows"], level)) is not None]
            cells += [_mean_std(reached, ".0f"), f"{len(reached)}/{len(items)}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _diagnostics_table(data: Runs) -> list[str]:
    """Per arm: `diagnostics` over all steps of all its seeds."""

    def f(x: float | None, fmt: str) -> str:
        return "–" if x is None else format(x, fmt)

    diag = [
        "| arm | transitions per step | share in all-fail groups | of those, share with nonzero advantage "
        "| their mean advantage | corr(episode length, advantage) | RMS advantage per transition "
        "| grad norm (before clip) | steps clipped at 1.0 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, items in data.items():
        d = diagnostics([r for it in items for r in it["rows"]])
        diag.append(
            f"| {arm} | {f(d['transitions'], '.0f')} | {f(d['flat_frac'], '.3f')} | {f(d['flat_nonzero'], '.3f')} "
            f"| {f(d['flat_adv'], '+.3f')} | {f(d['len_corr'], '+.3f')} | {f(d['adv_rms'], '.3f')} "
            f"| {f(d['grad_norm'], '.3f')} | {f(d['clipped'], '.3f')} |"
        )
    return diag


def _per_run_table(data: Runs) -> list[str]:
    per_seed = [
        "| arm | seed | eval success | steps to 0.6 | steps to 0.8 | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for arm, items in data.items():
        for it in items:
            s = it["summary"]
            per_seed.append(
                f"| {arm} | {it['dir'].name.split('seed')[-1]} | {s.get('eval/success_rate', 0):.3f} | "
                f"{_steps_to(it['rows'], 0.6) or 'never'} | {_steps_to(it['rows']) or 'never'} | {s.get('wall_s', 0):.0f} |"
            )
    return per_seed


ANALYSIS_MARK = "## What these runs show"

ABLATION_MD = """# Ablation: fixed pipeline vs double normalization

Generated by `{command}` (the analysis at the end is written by hand and kept when the report is regenerated;
the tables and the plot are regenerated).

Setup: `{env}`, {steps} RL steps per run (for N = 8 from a random init, peak lr 2e-3; other levels after a 300-step
format-only warm start, lr 1e-3), learning rate decaying linearly to 0 at the last step (the default
`optim.lr_schedule: linear`, the same for every arm), gradient norm clipped at 1.0, the demo's character model,
16 initial states × G = 8 episodes per step; every other setting is the shipped default.
- **fixed**: the fixed pipeline as shipped: GRPO advantage per episode inside its group (float64), all 16 groups
  kept whole, no second normalization.
- **double** (the seed's way): the same GRPO advantages, then a uniformly random subsample of {transitions}
  transitions (turns) ignoring groups, then the learner-side `norm_return` whitening over that subsample (each
  transition once, population std + 1e-9). Lint GL001 and GL006 acknowledged in the config.
- **whiten**: the same GRPO advantages, then `norm_return` whitening over all transitions of the step, no
  subsample (GL001 acknowledged). fixed → whiten isolates the second normalization; whiten → double isolates
  the random subsample.

![curves](ablation-double-norm.png)

## Learning

{table}

## Advantage diagnostics (averaged over all steps and seeds)

An *all-fail group* is a group in which every episode failed with the same return: it carries no learning signal,
and its correct advantage is exactly 0. The share with nonzero advantage and the mean advantage of these
transitions average only the steps that had any. *RMS advantage per transition* is √(mean² + std²) of the
advantages the learner receives (from the logged `adv/mean`, `adv/std`): the scale of the policy-gradient signal.
Whitening makes it 1 by construction. The mean |advantage| per action token is not logged by the pipeline, so it
is not shown. *Grad norm* is the norm before clipping at 1.0; a clipped step's size no longer depends on the
advantages' scale.

{diag}

## Per run

{per_seed}
"""
