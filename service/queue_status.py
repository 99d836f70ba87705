"""Who serves which queue, and why a queued run waits: read by GET /workers, GET /queue and the submit path,
written back onto runs.waiting_reason so that every view of a run (list, detail, CLI) shows it.

A worker is live while its registry heartbeat (worker/registry.py) is younger than `heartbeat_timeout_s` and it
has not said it stopped. A queue that no live worker consumes makes every queued run on it wait with a reason
that says which command starts one: a run is never silently queued forever.

The reasons written here all start with NO_WORKER_PREFIX; a refresh rewrites or clears only those, so a reason
that another part of the service stores (a quota, an executor) is left alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from service.broker import QUEUES
from service.db.models import Run, RunStatus, WorkerRecord, utcnow
from service.settings import Settings

NO_WORKER_PREFIX = "no live worker consumes queue"


def no_worker_reason(queue: str) -> str:
    return f"{NO_WORKER_PREFIX} '{queue}'; start one with `grpolab worker --queues {queue}`"


@dataclass(frozen=True)
class WorkerView:
    """A registry row plus what is derived at read time: alive, and the run it is working on."""

    record: WorkerRecord
    alive: bool
    current_run: str | None


def is_alive(record: WorkerRecord, settings: Settings, now: datetime) -> bool:
    fresh = record.heartbeat_at >= now - timedelta(seconds=settings.heartbeat_timeout_s)
    return fresh and not (record.info or {}).get("stopped_at")


def list_workers(session: Session, settings: Settings, now: datetime | None = None) -> list[WorkerView]:
    """Every registered worker, live ones first, each with its running run (runs.worker names the worker)."""
    now = now or utcnow()
    records = session.execute(select(WorkerRecord).order_by(WorkerRecord.heartbeat_at.desc())).scalars().all()
    running = dict(
        session.execute(
            select(Run.worker, Run.id).where(
                Run.status == RunStatus.RUNNING.value,
                Run.worker.in_([r.name for r in records]),
            )
        ).all()
    )
    views = [WorkerView(r, is_alive(r, settings, now), running.get(r.name)) for r in records]
    return sorted(views, key=lambda v: not v.alive)  # stable: newest heartbeat first within each group


def live_consumers(session: Session, settings: Settings, now: datetime | None = None) -> dict[str, list[str]]:
    """Queue name → names of the live workers consuming it (every known queue present, maybe empty)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.heartbeat_timeout_s)
    # Core on the session's connection, plain columns: on the submit path, where the ORM layer cost more than
    # the query
    rows = (
        session.connection()
        .execute(
            select(WorkerRecord.name, WorkerRecord.queues, WorkerRecord.info).where(
                WorkerRecord.heartbeat_at >= cutoff
            )
        )
        .all()
    )
    served: dict[str, list[str]] = {q: [] for q in QUEUES}
    for name, queues, info in rows:
        if (info or {}).get("stopped_at"):
            continue
        for q in queues or []:
            served.setdefault(str(q), []).append(name)
    return served


# "a live worker serves this queue", remembered for a second by the submit path: a burst of submits then costs
# one query, not one each. Only that answer is remembered, so a worker that just came is never missed; a worker
# that stopped within that second leaves its queue's next runs without a reason until the next refresh (at most
# heartbeat_timeout_s / 2: the API's own refresher).
_SERVED_FOR_S = 1.0
_served_until: dict[tuple[str, str], float] = {}


def waiting_reason_for(session: Session, settings: Settings, queue: str) -> str | None:
    """The reason a run submitted now to `queue` would wait (None: a live worker consumes the queue)."""
    key = (settings.db_url, queue)
    if _served_until.get(key, 0.0) > time.monotonic():
        return None
    if live_consumers(session, settings).get(queue):
        _served_until[key] = time.monotonic() + _SERVED_FOR_S
        return None
    return no_worker_reason(queue)


def refresh_waiting_reasons(session: Session, settings: Settings) -> int:
    """Bring the stored no-worker reasons of queued runs up to date (workers come and go). Conditional UPDATEs
    that touch only rows whose reason is wrong, so the common case writes nothing. The caller commits."""
    served = live_consumers(session, settings)
    queued_queues = session.execute(
        select(Run.queue).where(Run.status == RunStatus.QUEUED.value).distinct()
    ).scalars()
    ours = or_(Run.waiting_reason.is_(None), Run.waiting_reason.startswith(NO_WORKER_PREFIX, autoescape=True))
    changed = 0
    for queue in set(queued_queues) | set(served):
        reason = None if served.get(queue) else no_worker_reason(queue)
        where = [Run.status == RunStatus.QUEUED.value, Run.queue == queue]
        if reason is None:
            stmt = update(Run).where(*where, Run.waiting_reason.startswith(NO_WORKER_PREFIX, autoescape=True))
        else:
            stmt = update(Run).where(
                *where, ours, or_(Run.waiting_reason.is_(None), Run.waiting_reason != reason)
            )
        result = session.execute(
            stmt.values(waiting_reason=reason).execution_options(synchronize_session=False)
        )
        changed += result.rowcount  # type: ignore[attr-defined]
    return changed


def queue_overview(
    session: Session, settings: Settings, limit: int = 200, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per queue: how many runs wait, who serves it, and the first `limit` queued runs in the order workers
    take them (oldest enqueue first; a run whose message the reaper must still send goes last)."""
    now = now or utcnow()
    served = live_consumers(session, settings, now)
    views = list_workers(session, settings, now)
    busy = {v.record.name for v in views if v.alive and v.current_run}
    depth = dict(
        session.execute(
            select(Run.queue, func.count()).where(Run.status == RunStatus.QUEUED.value).group_by(Run.queue)
        ).all()
    )
    out = []
    for queue in sorted(set(served) | set(depth)):
        rows = session.execute(
            select(
                Run.id,
                Run.name,
                Run.created_by,
                Run.project,
                Run.enqueued_at,
                Run.created_at,
                Run.waiting_reason,
            )
            .where(Run.status == RunStatus.QUEUED.value, Run.queue == queue)
            .order_by(Run.enqueued_at.is_(None), Run.enqueued_at, Run.created_at, Run.id)
            .limit(limit)
        ).all()
        live = served.get(queue, [])
        idle = [w for w in live if w not in busy]
        runs = []
        for position, r in enumerate(rows, start=1):
            reason = r.waiting_reason or _position_reason(queue, position, len(live), len(idle))
            runs.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "owner": r.created_by,
                    "project": r.project,
                    "position": position,
                    "enqueued_at": r.enqueued_at,
                    "created_at": r.created_at,
                    "waiting_reason": reason,
                }
            )
        out.append(
            {
                "name": queue,
                "depth": int(depth.get(queue, 0)),
                "live_workers": live,
                "idle_workers": idle,
                "runs": runs,
            }
        )
    return out


def _position_reason(queue: str, position: int, live: int, idle: int) -> str:
    """Why a run that no stored reason explains is still queued: its place in the line."""
    if not live:
        return no_worker_reason(queue)
    if position <= idle:
        return "next: an idle worker takes it within seconds"
    if position == 1:  # not "0 run(s) ahead of it"
        return f"next: starts when a worker on queue '{queue}' finishes its run ({live} live, none idle)"
    return f"{position - 1} run(s) ahead of it on queue '{queue}' ({live} live worker(s), {idle} idle)"
