"""Figures for docs/artifacts.md: the checkpoint archive's speed and memory, and reading samples.jsonl pages.

    .venv/bin/python bench/artifacts_stream.py [--mb 256] [--steps 20000]

Streams a checkpoint-like folder (one incompressible file of --mb MB, like model weights, plus small files) through
api.artifacts.tar_gz_stream and prints MB/s and the growth of the process's peak RSS; then writes a samples.jsonl
of --steps steps (4 episodes of ~2 KB text each) and times the latest page, a page deep in the file and one step.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from api import artifacts as A


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_archive(root: Path, mb: int) -> None:
    ckpt = root / "checkpoints" / "step-000100"
    ckpt.mkdir(parents=True)
    with (ckpt / "model.safetensors").open("wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1 << 20))
    for name in ("config.json", "tokenizer.json", "state.json"):
        (ckpt / name).write_text(json.dumps({"name": name}))
    before = peak_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    total = sum(
        len(chunk) for chunk in A.tar_gz_stream("run-step-000100", A.open_files(A.folder_files(ckpt)))
    )
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"archive: {mb} MB folder -> {total / 2**20:.1f} MB tar.gz in {dt:.2f} s wall ({mb / dt:.0f} MB/s), "
        f"{cpu:.2f} s CPU ({mb / cpu:.0f} MB/s per core); "
        f"peak RSS grew {peak_rss_mb() - before:.1f} MB"
    )


def bench_samples(root: Path, steps: int) -> None:
    episode = {
        "group": 0,
        "episode": 0,
        "seed": 1,
        "prompt": "p" * 1000,
        "completion": "c" * 2000,
        "reward": 1.0,
    }
    with (root / A.SAMPLES_FILE).open("w") as f:
        for step in range(1, steps + 1):
            f.write(json.dumps({"step": step, "episodes": [episode] * 4}) + "\n")
    size = (root / A.SAMPLES_FILE).stat().st_size
    for label, kw in (
        ("latest 10 steps", {"step": None, "before": None}),
        ("10 steps before step 100", {"step": None, "before": 100}),
        ("step 1", {"step": 1, "before": None}),
    ):
        t0 = time.perf_counter()
        for _ in range(20):
            items = A.read_samples(root, kw["step"], kw["before"], 10)
        print(
            f"samples ({steps} steps, {size / 2**20:.0f} MB): {label}: {(time.perf_counter() - t0) / 20 * 1000:.1f} ms, {len(items)} steps"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mb", type=int, default=256)
    p.add_argument("--steps", type=int, default=20000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_archive(Path(tmp), args.mb)
        bench_samples(Path(tmp), args.steps)


if __name__ == "__main__":
    main()
