"""Run checkpoints under `out_dir/checkpoints/step-NNNNNN/`: policy (safetensors, HF folder with tokenizer),
optimizer + scheduler, RNG states and the pipeline's own state (step, counters). Written to a temporary folder
and renamed, so a killed run never leaves a half-written checkpoint that resume would pick up. With several ranks
rank 0 writes the folder (DeepSpeed adds each rank's optimizer partition to it).

With `model.lora` the policy part is the adapter only (`adapter_config.json` + `adapter_model.safetensors`,
peft's layout, written by the learner): resume and `grpolab export` rebuild the base from the run's config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from training import distributed
from training.backends import LearnerBackend

PREFIX = "step-"


def checkpoint_dir(out_dir: Path) -> Path:
    return out_dir / "checkpoints"


def save(
    out_dir: Path, step: int, learner: LearnerBackend, tokenizer: Any, state: dict[str, Any], keep: int = 2
) -> Path:
    root = checkpoint_dir(out_dir)
    final = root / f"{PREFIX}{step:06d}"
    tmp = root / f".tmp-{PREFIX}{step:06d}"
    # Several ranks: every rank calls save (DeepSpeed writes its per-rank files, a collective); rank 0 alone
    # prepares the folder, writes the rest and renames it, between barriers.
    writer = distributed.rank() == 0
    if writer:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
    distributed.barrier()
    learner.save_checkpoint(tmp)
    distributed.barrier()
    if writer:
        tokenizer.save_pretrained(tmp)
        torch.save(state.pop("rng"), tmp / "rng.pt")
        (tmp / "state.json").write_text(json.dumps({**state, "step": step}, indent=2, sort_keys=True))
        if final.exists():
            shutil.rmtree(final)
        tmp.rename(final)
        for old in list_checkpoints(out_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    distributed.barrier()
    return final


def list_checkpoints(out_dir: Path) -> list[Path]:
    root = checkpoint_dir(out_dir)
    if not root.is_dir():
        return []
    found = [
        p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and (p / "state.json").exists()
    ]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX) :]))


def latest(out_dir: Path) -> Path | None:
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


def load_state(ckpt: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    state = json.loads((ckpt / "state.json").read_text())
    rng = torch.load(ckpt / "rng.pt", weights_only=False)
    return state, rng
