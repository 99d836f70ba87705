"""`grpolab export`: a run's checkpoint as a plain Hugging Face model folder (LoRA merged)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

HELP = "write a run's checkpoint as a plain Hugging Face model folder (LoRA adapters merged)"
DESCRIPTION = """\
Write the latest checkpoint of a run (or the one of --checkpoint STEP) as a plain Hugging Face model folder:
config.json, model.safetensors and the tokenizer, with LoRA adapters merged into their base weights.
`AutoModelForCausalLM.from_pretrained(DIR)` and vLLM load it as is; `model.path: DIR` trains it further.

RUN is a run folder (the --out of `grpolab train`), or the id of a run of a local GRPO Lab server, found in
<data dir>/runs/<id> (--data-dir, default $GRPOLAB_DATA_DIR or .grpolab). A run of a server on another machine is
exported there: POST /api/v1/runs/ID/export, then download GET /api/v1/runs/ID/export/archive (docs/artifacts.md).

Examples:
  grpolab export runs/demo --out models/demo
  grpolab export runs/demo --checkpoint 200 --out models/demo-200
  grpolab export 3f2a9c0d1e2b4a5f8c7d6e5f4a3b2c1d --data-dir /srv/grpolab --out models/run
"""

#: Run ids as the API makes them (12 hex digits; 32 accepted too).
_RUN_ID = re.compile(r"^(?:[0-9a-f]{12}|[0-9a-f]{32})$")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "run", metavar="RUN", help="run folder, or the id of a run of a local server (see --data-dir)"
    )
    p.add_argument(
        "--out", metavar="DIR", required=True, help="folder to write (must not exist, or be empty)"
    )
    p.add_argument(
        "--checkpoint",
        type=int,
        metavar="STEP",
        help="export the checkpoint of this step (default: the latest)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="a server's data folder, to find RUN by id (default: $GRPOLAB_DATA_DIR or .grpolab)",
    )


def resolve_run(run: str, data_dir: str | None) -> Path:
    """The folder of RUN: a path as given, else `<data dir>/runs/<id>` for a run id."""
    path = Path(run).expanduser()
    if path.exists() or not _RUN_ID.match(run):
        return path
    root = Path(data_dir or os.environ.get("GRPOLAB_DATA_DIR") or ".grpolab").expanduser()
    found = root / "runs" / run
    if found.is_dir():
        return found
    remote = os.environ.get("GRPOLAB_URL")
    hint = (
        f" GRPOLAB_URL points at {remote}: export the run there and download it (POST /api/v1/runs/{run}/export, "
        f"then GET /api/v1/runs/{run}/export/archive; docs/artifacts.md), or pass the server's --data-dir."
        if remote
        else " Pass the server's data folder with --data-dir, or the run's folder itself."
    )
    raise FileNotFoundError(f"run {run}: no folder {found}.{hint}")


def run(args: argparse.Namespace) -> int:
    if args.checkpoint is not None and args.checkpoint < 0:
        print(f"error: --checkpoint {args.checkpoint}: a step is 0 or more", file=sys.stderr)
        return 2
    try:
        run_dir = resolve_run(args.run, args.data_dir)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    from training.accelerator_env import name_cpu_accelerator

    name_cpu_accelerator()  # before transformers imports DeepSpeed, whose probe warns on a CPU-only machine
    from training.export import ExportError, export_run

    try:
        done = export_run(run_dir, Path(args.out).expanduser(), args.checkpoint)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    kind = "LoRA merged into the base" if done.lora else "full weights"
    print(
        f"exported {done.checkpoint.parent.parent.name}/{done.checkpoint.name} (step {done.step}, {kind}, "
        f"{done.parameters / 1e6:.2f}M parameters) to {done.out}"
    )
    return 0
