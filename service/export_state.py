"""The state of a run's merged Hugging Face export, shared by the API (which asks for one) and the worker task
that writes it (worker/export_task.py): `<run folder>/export/state.json`, the latest export of the run.

    {"step": 40, "status": "queued" | "running" | "succeeded" | "failed", "requested_by": "alice",
     "requested_at": ISO, "started_at": ISO | null, "finished_at": ISO | null, "error": str | null}

A file beside the export rather than a table: the export lives in the run's folder, on the disk the API and the
workers share, and its state travels (and is deleted) with it. Written atomically (rename).
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXPORT_DIR = "export"
STATE_FILE = "state.json"
#: a queued or running export not updated for this long is taken as lost (its worker died): it may be asked again
STALE_AFTER_S = 3600.0


def export_folder(run_dir: Path, step: int) -> Path:
    return run_dir / EXPORT_DIR / f"step-{step:06d}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def read_state(run_dir: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((run_dir / EXPORT_DIR / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_state(run_dir: Path, state: dict[str, Any]) -> None:
    root = run_dir / EXPORT_DIR
    root.mkdir(exist_ok=True)
    tmp = root / f".{STATE_FILE}.{os.getpid()}.{time.monotonic_ns()}"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(root / STATE_FILE)


def is_stale(state: dict[str, Any]) -> bool:
    """A queued or running export whose state file has not changed for STALE_AFTER_S."""
    if state.get("status") not in ("queued", "running"):
        return False
    stamp = state.get("started_at") or state.get("requested_at")
    try:
        age = datetime.now(UTC) - datetime.fromisoformat(str(stamp))
    except ValueError:
        return True
    return age.total_seconds() > STALE_AFTER_S
