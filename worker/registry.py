"""The worker registry: a worker writes its own row in `workers` when it is ready, refreshes its heartbeat from a
daemon thread, and marks itself stopped on shutdown. GET /workers and the queue page read these rows; a worker
killed without a shutdown simply stops heartbeating and counts as gone after `heartbeat_timeout_s`.

Registering, stopping and every heartbeat_timeout_s / 2 of heartbeats also refresh the no-worker waiting reasons
of queued runs (service.queue_status): a run on a queue nobody serves gets its reason even when no API request
looks at it, and loses it as soon as a worker for its queue comes.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db.models import WorkerRecord, utcnow
from service.db.session import session_scope
from service.queue_status import refresh_waiting_reasons
from service.settings import Settings

log = logging.getLogger("grpolab.registry")
FORGET_AFTER = timedelta(days=7)  # stopped or silent workers stay visible (as gone) this long


def visible_gpus() -> int:
    """GPUs this worker may use, without importing torch: CUDA_VISIBLE_DEVICES when set, else nvidia-smi -L."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [d for d in visible.split(",") if d.strip()]
        return 0 if not ids or ids[0].strip() == "-1" else len(ids)
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=5, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def _upsert(session: Session, row: dict[str, Any]) -> None:
    """Insert the worker's row, or replace it when a worker of the same name registers again."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(WorkerRecord).values(**row)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[WorkerRecord.name],
            set_={k: stmt.excluded[k] for k in row if k != "name"},
        )
    )


class Registration:
    """One worker's row: register, heartbeat (a daemon thread), unregister."""

    def __init__(self, settings: Settings, name: str, queues: list[str]) -> None:
        self.settings = settings
        self.name = name
        self.queues = sorted(set(queues))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self) -> None:
        now = utcnow()
        row = {
            "name": self.name,
            "host": socket.gethostname(),
            "queues": self.queues,
            "gpus": visible_gpus(),
            "executor": self.settings.executor,  # GRPOLAB_EXECUTOR, set by `grpolab worker --executor`
            "current_run": None,
            "started_at": now,
            "heartbeat_at": now,
            "info": {"pid": os.getpid(), "cpus": os.cpu_count()},
        }
        with session_scope(self.settings.db_url) as s:
            _upsert(s, row)
            s.execute(delete(WorkerRecord).where(WorkerRecord.heartbeat_at < now - FORGET_AFTER))
            refresh_waiting_reasons(s, self.settings)
        log.info("worker %s registered (queues %s)", self.name, ",".join(self.queues))

    def beat(self, refresh: bool = True) -> None:
        with session_scope(self.settings.db_url) as s:
            record = s.get(WorkerRecord, self.name)
            if record is None:  # deleted by hand, or a database restored from a backup: register again
                s.rollback()
                self.register()
                return
            record.heartbeat_at = utcnow()
            if refresh:
                refresh_waiting_reasons(s, self.settings)

    def start(self) -> None:
        self.register()

        # a worker that was killed is only noticed after heartbeat_timeout_s anyway: refreshing the waiting
        # reasons twice per timeout is enough (coming and going cleanly refresh at once)
        every = max(1, round(self.settings.heartbeat_timeout_s / 2 / self.settings.heartbeat_interval_s))

        def loop() -> None:
            beats = 0
            while not self._stop.wait(self.settings.heartbeat_interval_s):
                beats += 1
                try:
                    self.beat(refresh=beats % every == 0)
                except Exception:  # the database may be restarting: the next beat tries again
                    log.exception("worker heartbeat failed")

        self._thread = threading.Thread(target=loop, name="grpolab-registry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Mark the row stopped (the worker shows as gone at once, and its queues' waiting runs get a reason)."""
        self._stop.set()
        try:
            with session_scope(self.settings.db_url) as s:
                record = s.get(WorkerRecord, self.name)
                if record is not None:
                    record.info = {**(record.info or {}), "stopped_at": utcnow().isoformat()}
                    s.flush()
                refresh_waiting_reasons(s, self.settings)
        except Exception:  # shutting down anyway: the heartbeat timeout marks it gone
            log.exception("could not mark worker %s stopped", self.name)
