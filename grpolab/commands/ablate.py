"""`grpolab ablate double-norm`: the fixed pipeline vs the seed's double normalization, several seeds each."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from training import metrics as M

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

ARMS = ("fixed", "double", "whiten")
COLORS = {"fixed": "tab:blue", "double": "tab:red", "whiten": "tab:green"}


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


def arm_raw(arm: str, seed: int, steps: int, env: str, transitions: int) -> dict[str, Any]:
    """The raw config (as a user would write it) of one arm; everything not set here is the shipped default."""
    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}")
    easy = env.endswith("-n8")
    raw: dict[str, Any] = {
        "env": {"id": env},
        "warm_start": {"steps": 0 if easy else 300, "player": "random_valid"},
        "optim": {"lr": 2e-3 if easy else 1e-3},
        "run": {"steps": steps, "seed": seed, "eval_episodes": 512, "checkpoint_every": 0},
    }
    if arm == "double":
        raw["rollout"] = {"subsample": {"unit": "transitions", "size": transitions}}
        raw["algorithm"] = {"norm_return": True}
        raw["lint"] = {
            "allow": [
                {"rule": "GL001", "reason": "ablation: reproduce the seed's double normalization"},
                {"rule": "GL006", "reason": "ablation: the seed's transition subsampling"},
            ]
        }
    elif arm == "whiten":
        raw["algorithm"] = {"norm_return": True}
        raw["lint"] = {
            "allow": [
                {
                    "rule": "GL001",
                    "reason": "ablation: the seed's second normalization over all transitions, without its "
                    "subsample, to separate the two effects",
                }
            ]
        }
    return raw


def arm_loaded(arm: str, seed: int, steps: int, env: str, transitions: int) -> Any:
    """The validated config of one arm (a LoadedConfig, as `grpolab train` lints it)."""
    from training.config_io import validate_raw

    return validate_raw(arm_raw(arm, seed, steps, env, transitions), path=f"<ablate {arm}>")


def arm_config(arm: str, seed: int, steps: int, env: str, transitions: int) -> Any:
    return arm_loaded(arm, seed, steps, env, transitions).config


def arm_of(cfg: dict[str, Any]) -> str | None:
    """Which arm a stored config.json belongs to, from the fields that define the arms (None: none of them)."""
    sub = cfg.get("rollout", {}).get("subsample", {}).get("unit", "none")
    norm = bool(cfg.get("algorithm", {}).get("norm_return", False))
    return {("none", False): "fixed", ("transitions", True): "double", ("none", True): "whiten"}.get(
        (sub, norm)
    )


def _lint_blocking(loaded: Any) -> list[str]:
    try:
        from training.lint import lint_loaded
    except ImportError:  # lint package absent: the configs are validated already
        return []
    return [f"{f.rule}: {f.message}" for f in lint_loaded(loaded).blocking]


ALLOW = [
    {"rule": "GL001", "reason": "ablation: the seed's second normalization (norm_return), on purpose"},
    {"rule": "GL006", "reason": "ablation: the seed's transition subsampling, on purpose"},
]


def sweep_body(arms: tuple[str, ...], seeds: int, steps: int, env: str, transitions: int) -> dict[str, Any]:
    """The POST /sweeps body of the ablation: the fixed arm's config as the base, the factors as the grid."""
    base = arm_raw("fixed", 0, steps, env, transitions)
    base["rollout"] = {"subsample": {"unit": "none", "size": transitions}}  # the size the double arm uses
    grid: dict[str, list[Any]] = {}
    if "double" in arms:
        grid["rollout.subsample.unit"] = ["none", "transitions"]
    if "double" in arms or "whiten" in arms:
        grid["algorithm.norm_return"] = [False, True]
    grid["run.seed"] = list(range(seeds))
    import yaml

    return {
        "name": f"ablate double-norm ({env}, {steps} steps)",
        "config_text": "# grpolab ablate double-norm: the fixed arm; the grid adds the others\n"
        + yaml.safe_dump(base, sort_keys=False),
        "grid": grid,
        "tags": ["ablate-double-norm"],
        "allow": ALLOW,
    }


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
    path = write_report(runs, Path(args.docs), args)
    print(f"wrote {path}")
    return 0


def load_runs(runs: Path, arms: tuple[str, ...] = ARMS) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {a: [] for a in arms}
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    arms: tuple[str, ...] = tuple(getattr(args, "arms", ARMS))
    data = load_runs(runs, arms)
    docs.mkdir(parents=True, exist_ok=True)
    png = docs / "ablation-double-norm.png"
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

    lines = [
        "| arm | runs | eval success (512 fresh episodes) | training success, last 20 steps "
        "| steps to 0.6 (MA-10 training success) | reached 0.6 | steps to 0.8 | reached 0.8 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    diag = [
        "| arm | transitions per step | share in all-fail groups | of those, share with nonzero advantage "
        "| their mean advantage | corr(episode length, advantage) | RMS advantage per transition "
        "| grad norm (before clip) | steps clipped at 1.0 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def f(x: float | None, fmt: str) -> str:
        return "–" if x is None else format(x, fmt)

    for arm, items in data.items():
        ev = [it["summary"].get(M.EVAL_SUCCESS_RATE, 0.0) for it in items]
        late = [float(np.mean([r[M.SUCCESS_RATE] for r in it["rows"][-20:]])) for it in items]
        cells = [f"{arm}", f"{len(items)}", _mean_std(ev), _mean_std(late)]
        for level in (0.6, 0.8):
            reached = [float(s) for it in items if (s := _steps_to(it["rows"], level)) is not None]
            cells += [_mean_std(reached, ".0f"), f"{len(reached)}/{len(items)}"]
        lines.append("| " + " | ".join(cells) + " |")
        d = diagnostics([r for it in items for r in it["rows"]])
        diag.append(
            f"| {arm} | {f(d['transitions'], '.0f')} | {f(d['flat_frac'], '.3f')} | {f(d['flat_nonzero'], '.3f')} "
            f"| {f(d['flat_adv'], '+.3f')} | {f(d['len_corr'], '+.3f')} | {f(d['adv_rms'], '.3f')} "
            f"| {f(d['grad_norm'], '.3f')} | {f(d['clipped'], '.3f')} |"
        )
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
            table="\n".join(lines),
            diag="\n".join(diag),
            per_seed="\n".join(per_seed),
            steps=first["summary"]["steps"] if first else "?",
            transitions=args.transitions,
            command=f"grpolab ablate double-norm --seeds {args.seeds} --steps {args.steps} "
            f"--arms {','.join(arms)} --env {args.env} --transitions {args.transitions}",
        )
        + (("\n" + analysis) if analysis else "")
    )
    return md


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
