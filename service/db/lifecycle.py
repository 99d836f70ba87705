"""The run lifecycle: every status change goes through `transition`, which is also the atomic claim.

queued → running → succeeded | failed | cancelled; running → queued (worker lost, resume from checkpoint);
failed | cancelled → queued (retry: the run starts afresh, RETRY_RESETS); queued → cancelled. `transition` is one
conditional UPDATE (`WHERE status IN (allowed sources)`), so two workers racing for a run, or a cancel racing a
finish, leave exactly one winner and one history row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.db.models import FINISHED, Run, RunEvent, RunStatus, utcnow
from service.webhooks import note_finished

S = RunStatus
ALLOWED: dict[RunStatus, frozenset[RunStatus]] = {
    S.QUEUED: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.RUNNING: frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED, S.QUEUED}),
    S.FAILED: frozenset({S.QUEUED}),
    S.CANCELLED: frozenset({S.QUEUED}),
    S.SUCCEEDED: frozenset(),
}
# A retry starts the run afresh: the previous attempts' counters, times and end state go (the run_events rows keep
# them), while a requeue after a lost worker keeps counting attempts (max_attempts) and its started_at.
RETRY_RESETS: dict[str, Any] = {"attempts": 0, "started_at": None, "error": None, "summary": None}


def sources_of(target: RunStatus) -> frozenset[RunStatus]:
    return frozenset(src for src, targets in ALLOWED.items() if target in targets)


def transition(
    session: Session,
    run_id: str,
    to: RunStatus,
    reason: str,
    *,
    from_: set[RunStatus] | frozenset[RunStatus] | None = None,
    at: datetime | None = None,
    guard: tuple[Any, ...] = (),
    **fields: Any,
) -> bool:
    """Move a run to `to` if it is in one of `from_` (default: every status allowed to reach `to`).

    Sets the timestamps the new status implies, writes one history row, and returns whether this call won.
    `guard`: extra SQL conditions (e.g. the heartbeat the reaper saw). The caller commits.
    """
    allowed = sources_of(to)
    sources = allowed if from_ is None else frozenset(from_) & allowed
    if not sources:
        raise ValueError(f"no transition from {sorted(from_ or [])} to {to}")
    retry = to is S.QUEUED and sources <= FINISHED
    if to is S.QUEUED and not retry and sources & FINISHED:
        raise ValueError(
            "a move to queued is a retry (from failed or cancelled) or a requeue (from running): not both"
        )
    at = at or utcnow()
    values: dict[str, Any] = {"status": to.value, **fields}
    if to is not S.QUEUED:
        values.setdefault("waiting_reason", None)  # a run that started or ended waits for nothing
    if to is S.RUNNING:
        values.setdefault("started_at", at)
        values.setdefault("heartbeat_at", at)
        values["attempts"] = Run.attempts + 1
    elif to in FINISHED:
        values["finished_at"] = at
        values["heartbeat_at"] = None
    elif to is S.QUEUED:
        values.update(
            finished_at=None,
            heartbeat_at=None,
            cancel_requested=False,
            cancel_requested_by=None,
            enqueued_at=at,
            **(RETRY_RESETS if retry else {}),
        )
    stmt = (
        update(Run)
        .where(Run.id == run_id, Run.status.in_([s.value for s in sources]), *guard)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    won = session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]
    if won:
        session.execute(insert(RunEvent), {"run_id": run_id, "status": to.value, "at": at, "reason": reason})
        if to in FINISHED:
            note_finished(session, run_id)  # webhooks are sent after the commit, off this thread
    return won


def create_run_history(session: Session | Connection, run_id: str, reason: str, at: datetime) -> None:
    """The first history row of a new run (it is created `queued`; there is no transition into existence)."""
    session.execute(
        insert(RunEvent), {"run_id": run_id, "status": S.QUEUED.value, "at": at, "reason": reason}
    )
