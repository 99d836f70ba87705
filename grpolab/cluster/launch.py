"""The command a cluster job runs: `python -m grpolab.cluster.launch CONFIG OUT_DIR`.

One node: `grpolab train CONFIG --out OUT_DIR` (lint, train, resumable checkpoints), as on a laptop. Several
nodes: the same lint gate, then the config as JSON in OUT_DIR/run-config.json and the Ray driver of the `ray`
executor (worker/executors/ray_driver.py), which places `resources.nodes` bundles (STRICT_SPREAD) on the Ray
cluster the job runs in (RAY_ADDRESS) and runs one trainer per rank, torch.distributed across the nodes. OUT_DIR
must then be storage every node sees: each rank reads run-config.json there and rank 0 writes the checkpoints.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from grpolab.commands.train import LintRefused, lint_gate

__all__ = ["LintRefused", "main", "validated_config"]


def validated_config(text: str, where: str) -> Any:
    """The RunConfig of `text` after the gate of `grpolab train`: invalid → LintRefused(2), error findings → 1 (the
    problems and findings printed on stderr)."""
    from training.config_io import load_text

    return lint_gate(lambda: load_text(text, where), refusing="refusing").config


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m grpolab.cluster.launch CONFIG OUT_DIR", file=sys.stderr)
        return 2
    config_path, out_dir = argv
    try:
        text = Path(config_path).read_text(encoding="utf-8")
        config = validated_config(text, config_path)
    except OSError as exc:
        print(f"cannot read {config_path}: {exc.strerror}", file=sys.stderr)
        return 2
    except LintRefused as refused:
        return refused.status
    if config.resources.nodes <= 1:
        from grpolab.cli import main as grpolab

        return grpolab(["train", config_path, "--out", out_dir, "--quiet"])
    if not os.environ.get(
        "RAY_ADDRESS"
    ):  # else ray.init() starts a one-node Ray that can never place the run
        print(
            f"resources.nodes is {config.resources.nodes}: run this inside the job's Ray cluster (RAY_ADDRESS "
            "unset; a RayJob and the sbatch script of `grpolab cluster render` set it)",
            file=sys.stderr,
        )
        return 2
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run-config.json").write_text(config.model_dump_json())
    from worker.executors.ray_driver import main as drive

    return drive([out_dir])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
