"""The export task: a run's checkpoint as a plain Hugging Face model folder, written by a worker.

`POST /api/v1/runs/{id}/export` queues `EXPORT_TASK(run_id, step)` on the run's own queue, because the export
needs torch (and, for a LoRA run, the base model), which the API never imports, and the worker that serves the
run's queue is the one that can load its model. Like training, the export runs in a child process
(`python -m grpolab export …`): the worker process itself stays free of torch.

The task writes `<run folder>/export/step-NNNNNN/` (through a `.tmp-` folder and a rename, so a half-written export
is never offered) and keeps `<run folder>/export/state.json` (service/export_state.py) up to date. It is
idempotent: a redelivered message (a worker killed mid-export) starts again from a clean temporary folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from celery import Celery

from service import export_state as X
from service.broker import EXPORT_TASK
from service.db.models import Run
from service.db.session import session_scope
from service.settings import Settings

log = logging.getLogger("grpolab.worker")
#: longest an export may take (a multi-billion-parameter merge on CPU takes minutes, not hours)
EXPORT_TIMEOUT_S = 3600
#: the end of the export command's output kept as the error of a failed export
ERROR_CHARS = 1500


def export_checkpoint(settings: Settings, run_id: str, step: int) -> str:
    """Export checkpoint `step` of run `run_id` into its folder; returns the outcome (for the worker's log)."""
    with session_scope(settings.db_url) as s:
        run = s.get(Run, run_id)
        output_dir = run.output_dir if run is not None else None
    if output_dir is None:
        return "skipped: no such run"
    run_dir = Path(output_dir)
    state = X.read_state(run_dir) or {"step": step, "requested_at": X.now_iso()}
    if state.get("step") != step:
        return "skipped: a newer export was asked for"
    state.update(status="running", started_at=X.now_iso(), finished_at=None, error=None)
    X.write_state(run_dir, state)
    final = X.export_folder(run_dir, step)
    tmp = final.with_name(".tmp-" + final.name)
    shutil.rmtree(tmp, ignore_errors=True)
    error = _run_export(settings, run_dir, step, tmp)
    if error is None:
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    state.update(status="failed" if error else "succeeded", finished_at=X.now_iso(), error=error)
    X.write_state(run_dir, state)
    return state["status"]


def _run_export(settings: Settings, run_dir: Path, step: int, out: Path) -> str | None:
    """`grpolab export RUN --out OUT --checkpoint STEP` in a child process; None on success, else why not."""
    command = [
        sys.executable,
        "-m",
        "grpolab",
        "export",
        str(run_dir),
        "--out",
        str(out),
        "--checkpoint",
        str(step),
    ]
    # the export needs no credentials: keep the database and broker URLs (passwords) out of its environment
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            env=env,
            cwd=settings.data_dir.resolve(),  # relative model paths resolve inside the data dir, as in training
            timeout=EXPORT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"the export took over {EXPORT_TIMEOUT_S} s and was stopped"
    except OSError as exc:
        return f"could not start the export: {exc}"
    if done.returncode == 0:
        log.info("export of %s step %d: %s", run_dir.name, step, done.stdout.strip())
        return None
    text = (done.stderr or done.stdout).strip()
    return text[-ERROR_CHARS:] or f"the export exited with status {done.returncode}"


def register_export_task(app: Celery, settings: Settings) -> Any:
    """Register the export task on the worker's Celery app (called once from worker/celery_app.py)."""

    @app.task(name=EXPORT_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
    def export_task(run_id: str, step: int) -> str:
        outcome = export_checkpoint(settings, str(run_id), int(step))
        log.info("export of run %s step %s: %s", run_id, step, outcome)
        return outcome

    return export_task
