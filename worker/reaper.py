"""The reaper: no run stays `running` without a live worker, no queued run waits on a lost message.

- running, heartbeat older than heartbeat_timeout_s: back to `queued` (the next worker resumes from the last
  checkpoint), or `failed` with the reason once it has used max_attempts; `cancelled` if a cancel was pending.
- queued, its message possibly lost (Redis restarted without persistence) and its queue empty: sent again.
  Duplicates are harmless: only one claim of a queued run can win.

Every worker runs it in a background thread; the updates are conditional, so several reapers agree.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, select

from service.broker import enqueue_run, queue_depth
from service.db.lifecycle import transition
from service.db.models import Run, RunStatus, utcnow
from service.db.session import session_scope
from service.settings import Settings

log = logging.getLogger("grpolab.reaper")


def reap_lost(settings: Settings) -> list[tuple[str, str]]:
    """Handle runs whose heartbeat stopped. Returns (run id, new status) for each run changed."""
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.heartbeat_timeout_s)
    changed: list[tuple[str, str]] = []
    with session_scope(settings.db_url) as s:
        stale = s.execute(
            select(Run.id, Run.attempts, Run.worker, Run.heartbeat_at, Run.cancel_requested, Run.queue).where(
                Run.status == RunStatus.RUNNING.value, Run.heartbeat_at < cutoff
            )
        ).all()
    for r in stale:
        seen = r.heartbeat_at.strftime("%H:%M:%S") if r.heartbeat_at else "?"
        lost = f"worker {r.worker} lost (no heartbeat since {seen} UTC)"
        if r.cancel_requested:
            fields: dict[str, Any] = {}
            to, reason = RunStatus.CANCELLED, f"{lost}; a cancel was pending"
        elif r.attempts >= settings.max_attempts:
            reason = f"{lost} on attempt {r.attempts} of {settings.max_attempts}; giving up"
            to, fields = RunStatus.FAILED, {"error": reason}
        else:
            to = RunStatus.QUEUED
            reason = f"{lost}; requeued to resume from its last checkpoint (attempt {r.attempts + 1} next)"
            fields = {}
        with session_scope(settings.db_url) as s:
            # guarded by the heartbeat we saw: a worker that came back in between keeps its run
            won = transition(
                s, r.id, to, reason, from_={RunStatus.RUNNING}, guard=(Run.heartbeat_at < cutoff,), **fields
            )
        if won:
            changed.append((r.id, to.value))
            log.warning("run %s: %s", r.id, reason)
            if to is RunStatus.QUEUED:
                _send(settings, r.id, r.queue)
    return changed


def resend_queued(settings: Settings) -> list[str]:
    """Send again queued runs whose message may be gone: never sent (the broker was down at submit: the API
    left enqueued_at empty), or waiting longer than requeue_after_s while their Redis queue is empty."""
    try:
        depth = queue_depth(settings)
    except Exception:
        return []  # broker unreachable: nothing can be sent now
    cutoff = utcnow() - timedelta(seconds=settings.requeue_after_s)
    lost: ColumnElement[bool] = Run.enqueued_at.is_(None)
    if depth is not None:  # the SQLite broker is transactional: a message it accepted is not lost
        lost = lost | (Run.enqueued_at < cutoff)
    with session_scope(settings.db_url) as s:
        rows = s.execute(
            select(Run.id, Run.queue, Run.enqueued_at).where(Run.status == RunStatus.QUEUED.value, lost)
        )
        todo = [
            (r.id, r.queue)
            for r in rows
            if r.enqueued_at is None or depth is None or depth.get(r.queue, 0) == 0
        ]
        for run_id, _q in todo:
            s.get(Run, run_id).enqueued_at = utcnow()  # type: ignore[union-attr]
    for run_id, q in todo:
        _send(settings, run_id, q)
    if todo:
        log.warning("re-sent %d queued run(s) whose message may have been lost", len(todo))
    return [t[0] for t in todo]


def _send(settings: Settings, run_id: str, queue: str) -> None:
    try:
        enqueue_run(settings, run_id, queue)
    except Exception:
        log.exception("could not send run %s; will try again", run_id)


def reap_once(settings: Settings) -> None:
    try:
        reap_lost(settings)
        resend_queued(settings)
    except Exception:  # the database may be restarting: try again next round
        log.exception("reaper round failed")


def start_reaper(settings: Settings, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.is_set():
            reap_once(settings)
            stop.wait(settings.reaper_interval_s)

    t = threading.Thread(target=loop, name="grpolab-reaper", daemon=True)
    t.start()
    return t
