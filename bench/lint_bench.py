"""Lint speed: in-process time per config over 10,000 configs, and the time of a `grpolab lint FILE` process.

Goals (issue 13): in-process p50 < 1 ms per config; median `grpolab lint FILE` process < 100 ms from the light
install (`pip install grpolab`: pydantic, pyyaml, numpy, tree-sitter-bash). The process is timed on three files: a TRL
YAML and a verl launch script (what pre-commit and the GitHub Action lint; neither imports pydantic) and one of our
own configs (validated by the pydantic RunConfig schema, which costs its import). Each row gives the median wall
time and the median CPU time (user + sys) of the process: on a loaded machine the wall time also counts waiting
for a core, the CPU time does not.

    .venv/bin/python bench/lint_bench.py [--configs 10000] [--processes 20] [--grpolab PATH/TO/bin/grpolab]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.lint import lint_text  # noqa: E402

ESTIMATORS = ["grpo", "drgrpo", "rloo", "ep_level", "none", "reinforce_pp_baseline"]
AGGS = ["token_mean", "seq_mean_token_mean", "seq_mean_token_sum"]


def random_config(rng: random.Random) -> str:
    g = rng.choice([1, 2, 4, 8, 16])
    return (
        "# generated for the benchmark\n"
        "model:\n  path: builtin:tiny-char\n"
        "env:\n  id: grpolab:GuessNumber-v0-n8\n"
        f"algorithm:\n  estimator: {rng.choice(ESTIMATORS)}\n  group_size: {g}\n"
        f"  norm_return: {rng.choice(['true', 'false'])}\n  gamma: {rng.choice([1.0, 0.99])}\n"
        f"  loss_agg: {rng.choice(AGGS)}\n  kl_coef: {rng.choice([0.0, 0.01])}\n"
        f"  std_eps: {rng.choice(['1.0e-9', '0'])}\n"
        f"rollout:\n  batch_size: {g * rng.choice([8, 16]) + rng.choice([0, 0, 0, 3])}\n"
        f"  temperature: {rng.choice([1.0, 0.7, 0])}\n"
        f"optim:\n  lr: 1.0e-3\n  micro_batch_size: 64\nrun:\n  steps: 100\n  seed: {rng.randrange(1000)}\n"
    )


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench_in_process(n: int) -> None:
    rng = random.Random(0)
    texts = [random_config(rng) for _ in range(n)]
    for t in texts[:200]:  # warm-up
        lint_text(t, "grpolab")
    times = []
    fired = 0
    for t in texts:
        t0 = time.perf_counter()
        res = lint_text(t, "grpolab")
        times.append(time.perf_counter() - t0)
        fired += len(res.findings)
    print(f"in-process lint, grpolab format, {n} configs ({fired} findings):")
    print(f"  p50 {pct(times, 0.5) * 1e3:.3f} ms   p99 {pct(times, 0.99) * 1e3:.3f} ms   (goal p50 < 1 ms)")
    auto = []
    for t in texts[:2000]:
        t0 = time.perf_counter()
        lint_text(t, "auto")
        auto.append(time.perf_counter() - t0)
    print(f"  with --input-format auto (detection included): p50 {pct(auto, 0.5) * 1e3:.3f} ms")


def bench_foreign() -> None:
    folder = ROOT / "tests" / "lint" / "foreign"
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml", ".json", ".sh"}
    )
    if not files:
        print("foreign configs: none found under tests/lint/foreign")
        return
    per_fw: dict[str, list[float]] = {}
    texts = [(p.parent.name, p.read_text()) for p in files]
    for _ in range(3):
        for _fw, t in texts:
            lint_text(t, "auto")
    for _ in range(50):
        for fw, t in texts:
            t0 = time.perf_counter()
            lint_text(t, "auto")
            per_fw.setdefault(fw, []).append(time.perf_counter() - t0)
    all_t = [x for xs in per_fw.values() for x in xs]
    print(
        f"foreign configs ({len(files)} files, auto-detected), p50 per config: {pct(all_t, 0.5) * 1e3:.3f} ms "
        f"(goal < 2 ms), p99 {pct(all_t, 0.99) * 1e3:.3f} ms"
    )
    for fw, xs in sorted(per_fw.items()):
        print(f"  {fw:<10} p50 {pct(xs, 0.5) * 1e3:.3f} ms")


PROCESS_FILES = {
    "TRL YAML": ROOT / "tests" / "lint" / "foreign" / "trl" / "split_groups.yaml",
    "verl script": ROOT / "tests" / "lint" / "foreign" / "verl" / "grpo_gsm8k.sh",
    "grpolab YAML": ROOT / "examples" / "seed-buggy.yaml",
}


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_process(n: int, exe: str) -> None:
    python = str(Path(exe).with_name("python"))
    base = [_timed([python, "-c", "pass"]) for _ in range(n)]
    print(
        f"`grpolab lint FILE` process ({exe}), median over {n} runs (goal < 100 ms); "
        f"bare `python -c pass`: wall {statistics.median(w for w, _ in base) * 1e3:.0f} ms, "
        f"CPU {statistics.median(c for _, c in base) * 1e3:.0f} ms"
    )
    for label, target in PROCESS_FILES.items():
        _timed([exe, "lint", str(target)])  # warm the file cache
        runs = [_timed([exe, "lint", str(target)]) for _ in range(n)]
        walls = [w for w, _ in runs]
        cpus = [c for _, c in runs]
        print(
            f"  {label:<13} wall median {statistics.median(walls) * 1e3:4.0f} ms (min {min(walls) * 1e3:.0f})   "
            f"CPU median {statistics.median(cpus) * 1e3:4.0f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", type=int, default=10_000)
    ap.add_argument("--processes", type=int, default=20)
    ap.add_argument(
        "--grpolab",
        default=shutil.which("grpolab", path=str(Path(sys.executable).parent)) or "grpolab",
        help="the grpolab executable to time (e.g. that of a light install in a fresh venv)",
    )
    args = ap.parse_args()
    bench_in_process(args.configs)
    bench_foreign()
    bench_process(args.processes, args.grpolab)


if __name__ == "__main__":
    main()
