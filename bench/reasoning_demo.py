"""The CPU reasoning demo (examples/reasoning-cpu.yaml) for several seeds, its double-normalization ablation and
the supervised-training control, then its figures in docs/pipeline.md and docs/ablation.md.

Arms, each for seeds 0 .. N-1 (one training process at a time, `resources.cpu_threads` from the config):
  fixed   the example as shipped: supervised warm start on the generator's answers, then GRPO with the fixed
          pipeline (group advantages, all groups, no second normalization);
  double  the same, with the seed's double normalization (`grpolab ablate double-norm`'s `double` arm: a random
          subsample of --transitions transitions ignoring groups, then `norm_return` whitening; GL001 + GL006
          acknowledged);
  sft     the honesty check: no RL; the warm start simply continues, supervised on the generator's answers, for
          as many extra steps as fit in the wall time the `fixed` run of the same seed spent on RL (its steps
          and evaluations). Its first steps are exactly the fixed run's warm start (same seed, same data).

Each run goes to <runs>/<arm>-seed<k>; finished runs are kept and skipped (an interrupted bench resumes). The
report replaces only the text between this bench's markers in the two docs pages.

    python bench/reasoning_demo.py --seeds 3                     # fixed, double and sft, 3 seeds each
    python bench/reasoning_demo.py --seeds 1 --arms fixed        # the demo once
    python bench/reasoning_demo.py --seeds 3 --report-only       # rebuild the docs sections from the runs
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARMS = ("fixed", "sft", "double")  # in this order: sft needs the fixed run; the ablation comes last
EXAMPLE = ROOT / "examples" / "reasoning-cpu.yaml"
BEGIN = "<!-- bench/reasoning_demo.py:{name}:begin -->"
END = "<!-- bench/reasoning_demo.py:{name}:end -->"
WIDTH = 118  # docs line width


def example_raw(path: Path = EXAMPLE) -> dict[str, Any]:
    """The example config, validated, as plain data (every field explicit)."""
    from training.config_io import load_file

    return json.loads(load_file(path).config.model_dump_json())


def arm_raw(
    arm: str,
    seed: int,
    transitions: int,
    sft_steps: int = 0,
    base: Path = EXAMPLE,
    ws_steps: int | None = None,
) -> dict[str, Any]:
    """One arm's config: the example with the seed set, plus the arm's changes."""
    from grpolab.commands import ablate

    raw = example_raw(base)
    raw["run"]["seed"] = seed
    ws_steps = raw["warm_start"]["steps"] if ws_steps is None else ws_steps
    if arm == "double":
        # the ablation's own definition of the arm (its env and length settings are not used here)
        arm_def = ablate.arm_raw("double", seed, 1, raw["env"]["id"], transitions)
        for section in ("rollout", "algorithm"):
            raw[section] = _merge(raw[section], arm_def[section])
        raw["lint"] = arm_def["lint"]
    elif arm == "sft":
        # the fixed run's warm start (its steps, however it stopped) continued without a stopping check
        raw["warm_start"]["steps"] = ws_steps + sft_steps
        raw["warm_start"]["stop_at_accuracy"] = None
        raw["run"]["steps"] = 0
        raw["run"]["eval_every"] = 0
    elif arm != "fixed":
        raise ValueError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    return raw


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def rl_seconds(summary: dict[str, Any]) -> float:
    """Wall time a run spent after its warm start (RL steps, evaluations, checkpoints)."""
    return float(summary["wall_s"]) - float(summary.get("warm_start/seconds", 0.0))


def run_arm(arm: str, seed: int, args: argparse.Namespace) -> dict[str, Any] | None:
    from training.config_io import validate_raw
    from training.lint import lint_loaded
    from training.pipeline import train

    out = Path(args.runs) / f"{arm}-seed{seed}"
    if (out / "summary.json").exists():
        print(f"{out}: done already", flush=True)
        return json.loads((out / "summary.json").read_text())
    sft_steps, ws_steps = 0, None
    if arm == "sft":
        fixed = Path(args.runs) / f"fixed-seed{seed}" / "summary.json"
        if not fixed.exists():
            print(
                f"sft seed {seed}: needs the fixed run of seed {seed} (its RL wall time); skipped", flush=True
            )
            return None
        s = json.loads(fixed.read_text())
        per_step = s["warm_start/seconds"] / s["warm_start/steps"]
        sft_steps, ws_steps = round(rl_seconds(s) / per_step), int(s["warm_start/steps"])
    raw = arm_raw(arm, seed, args.transitions, sft_steps, Path(args.config), ws_steps)
    loaded = validate_raw(raw, path=f"<{arm}>")
    blocking = lint_loaded(loaded).blocking
    if blocking:
        print(f"{arm}: unacknowledged lint errors: {'; '.join(f.rule for f in blocking)}", file=sys.stderr)
        return None
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    summary = train(loaded.config, out, resume=False)
    summary["bench/load_avg_1m"] = [load0, os.getloadavg()[0]]
    summary["bench/seconds"] = time.perf_counter() - t0
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    print(
        f"{arm} seed {seed}: eval {summary.get('eval/success_rate_start', 0):.3f} -> "
        f"{summary.get('eval/success_rate', 0):.3f} in {summary['wall_s']:.0f} s "
        f"(load {load0:.1f} -> {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return summary


# -- report ----------------------------------------------------------------------------------------------------
def load(runs: Path, arm: str) -> list[dict[str, Any]]:
    out = []
    for d in sorted(runs.glob(f"{arm}-seed*"), key=lambda p: int(p.name.split("seed")[-1])):
        if not (d / "summary.json").exists():
            continue
        rows = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines() if x.strip()]
        out.append(
            {
                "seed": int(d.name.split("seed")[-1]),
                "summary": json.loads((d / "summary.json").read_text()),
                "rows": rows,
            }
        )
    return out


def figures(item: dict[str, Any]) -> dict[str, Any]:
    s, rows = item["summary"], item["rows"]
    start, end = s.get("eval/success_rate_start"), s.get("eval/success_rate")
    rl_steps = [r["time/rollout_s"] + r["time/learn_s"] for r in rows]
    return {
        "seed": item["seed"],
        "start": start,
        "end": end,
        "gain": None if start is None or end is None else end - start,
        "ws_steps": int(s.get("warm_start/steps", 0)),
        "ws_accuracy": s.get("warm_start/accuracy"),  # greedy, on the check's training problems
        "ws_s": s.get("warm_start/seconds", 0.0),
        "ws_step_ms": 1000 * s.get("warm_start/seconds", 0.0) / max(s.get("warm_start/steps", 1), 1),
        "rl_steps": int(s.get("steps", 0)),
        "rl_step_ms": 1000 * sum(rl_steps) / len(rl_steps) if rl_steps else None,
        "rl_s": rl_seconds(s),
        "wall_s": s["wall_s"],
        "load": s.get("bench/load_avg_1m"),
        "curve": [(r["step"], r["eval/success_rate"]) for r in rows if "eval/success_rate" in r],
    }


def _f(x: float | None, fmt: str = ".3f") -> str:
    return "–" if x is None else format(x, fmt)


def _mean_sd(xs: list[float]) -> str:
    import numpy as np

    return "–" if not xs else f"{np.mean(xs):.3f} ± {np.std(xs):.3f}"


def pipeline_section(data: dict[str, list[dict[str, Any]]], cmd: str) -> str:
    fixed = [figures(it) for it in data["fixed"]]
    sft = {f["seed"]: f for f in (figures(it) for it in data["sft"])}
    lines = [
        textwrap.fill(
            f"Measured with `{cmd}` (`resources.cpu_threads: 1`; the machine's 2 cores were shared with other "
            "work, so wall times are inflated: the 1-minute load average at the start and end of each run is "
            "shown; ms / RL step is rollout + learner time per step; `train` is the warm start's last greedy "
            "accuracy check on training problems, where it stopped).",
            WIDTH,
        ),
        "",
        "| seed | eval after warm start | eval after GRPO | gain | warm start | RL | ms / RL step | wall | load avg | "
        "supervised instead of RL, same wall time |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in fixed:
        s = sft.get(f["seed"])
        control = f"{_f(s['end'])} ({s['ws_steps'] - f['ws_steps']} more steps)" if s else "not run"
        load = "–" if not f["load"] else f"{f['load'][0]:.1f} → {f['load'][1]:.1f}"
        ws_acc = "" if f["ws_accuracy"] is None else f" (train {f['ws_accuracy']:.2f})"
        lines.append(
            f"| {f['seed']} | {_f(f['start'])} | {_f(f['end'])} | {_f(f['gain'], '+.3f')} | {f['ws_steps']} steps"
            f"{ws_acc}, {f['ws_s']:.0f} s | {f['rl_steps']} steps, {f['rl_s']:.0f} s | {_f(f['rl_step_ms'], '.0f')} | "
            f"{f['wall_s']:.0f} s | {load} | {control} |"
        )
    met = sum(1 for f in fixed if f["gain"] is not None and f["gain"] >= 0.15)
    lines += ["", f"Target (gain ≥ 0.15 over the warm-start model): met at {met} of {len(fixed)} seeds."]
    curves = [f for f in fixed if f["curve"]]
    if curves:
        lines += ["", "Greedy eval accuracy during RL (512 held-out problems each):", ""]
        steps = [st for st, _ in curves[0]["curve"]]
        lines.append("| seed | start | " + " | ".join(f"step {st}" for st in steps) + " |")
        lines.append("|---|---|" + "---|" * len(steps))
        for f in curves:
            lines.append(
                f"| {f['seed']} | {_f(f['start'])} | " + " | ".join(_f(v) for _, v in f["curve"]) + " |"
            )
    return "\n".join(lines)


def ablation_section(data: dict[str, list[dict[str, Any]]], cmd: str, transitions: int) -> str:
    lines = [
        textwrap.fill(
            f"Measured with `{cmd}`: the example `examples/reasoning-cpu.yaml` per seed (fixed) and the same "
            f"with the seed's double normalization (double: a random subsample of {transitions} of the 256 "
            "transitions per step, ignoring groups, then `norm_return` whitening). Each seed's two arms share the "
            "model init, the warm start and its evaluation exactly; only the RL differs.",
            WIDTH,
        ),
        "",
        "| arm | runs | eval after warm start | eval after RL | gain | gain ≥ 0.15 |",
        "|---|---|---|---|---|---|",
    ]
    for arm in ("fixed", "double"):
        fs = [figures(it) for it in data[arm]]
        gains = [f["gain"] for f in fs if f["gain"] is not None]
        lines.append(
            f"| {arm} | {len(fs)} | {_mean_sd([f['start'] for f in fs if f['start'] is not None])} | "
            f"{_mean_sd([f['end'] for f in fs if f['end'] is not None])} | {_mean_sd(gains)} | "
            f"{sum(g >= 0.15 for g in gains)}/{len(fs)} |"
        )
    lines += [
        "",
        "| arm | seed | after warm start | after RL | gain | ms / RL step | wall |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm in ("fixed", "double"):
        for f in (figures(it) for it in data[arm]):
            lines.append(
                f"| {arm} | {f['seed']} | {_f(f['start'])} | {_f(f['end'])} | {_f(f['gain'], '+.3f')} | "
                f"{_f(f['rl_step_ms'], '.0f')} | {f['wall_s']:.0f} s |"
            )
    return "\n".join(lines)


def replace_section(page: Path, name: str, body: str) -> None:
    """Replace the text between this bench's markers; the markers must already be in the page."""
    text = page.read_text()
    begin, end = BEGIN.format(name=name), END.format(name=name)
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"{page}: add the lines `{begin}` and `{end}` where the figures go")
    page.write_text(text[: i + len(begin)] + "\n" + body + "\n" + text[j:])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=3, help="seeds per arm: 0 .. N-1 (default 3)")
    p.add_argument(
        "--arms", default=",".join(ARMS), help=f"comma-separated, from {','.join(ARMS)} (default all)"
    )
    p.add_argument(
        "--config", default=str(EXAMPLE), help="the demo config (default examples/reasoning-cpu.yaml)"
    )
    p.add_argument("--transitions", type=int, default=200, help="transitions kept per step by the double arm")
    p.add_argument("--runs", default="runs/bench-reasoning-demo", help="where the runs go")
    p.add_argument("--docs", default=str(ROOT / "docs"), help="where pipeline.md and ablation.md are")
    p.add_argument("--report-only", action="store_true", help="only rebuild the docs sections from the runs")
    args = p.parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    bad = [a for a in arms if a not in ARMS]
    if bad or args.seeds < 1:
        p.error(f"--arms: unknown {', '.join(bad)}" if bad else "--seeds must be ≥ 1")
    if not args.report_only:
        for arm in [a for a in ARMS if a in arms]:
            for seed in range(args.seeds):
                run_arm(arm, seed, args)
    runs = Path(args.runs)
    data = {arm: load(runs, arm)[: args.seeds] for arm in ARMS}
    cmd = f"python bench/reasoning_demo.py --seeds {args.seeds} --arms {','.join(arms)}"
    docs = Path(args.docs)
    if data["fixed"]:
        replace_section(docs / "pipeline.md", "demo", pipeline_section(data, cmd))
        print(pipeline_section(data, cmd))
    if data["fixed"] and data["double"]:
        replace_section(docs / "ablation.md", "ablation", ablation_section(data, cmd, args.transitions))
        print(ablation_section(data, cmd, args.transitions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
