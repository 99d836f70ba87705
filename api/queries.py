"""Reading runs for the API: ORM rows to response bodies."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from api.errors import ApiError
from service.db.models import Run, RunEvent


def get_run(session: Session, run_id: str) -> Run:
    run = session.get(Run, run_id) if len(run_id) <= 32 else None
    if run is None:
        raise ApiError(404, "not_found", f"no run with id '{run_id[:40]}'")
    return run


# what summary_dict reads: a list loads only these
SUMMARY_COLUMNS = (
    Run.id,
    Run.name,
    Run.status,
    Run.tags,
    Run.created_at,
    Run.started_at,
    Run.finished_at,
    Run.step,
    Run.total_steps,
    Run.last_reward,
    Run.reward_sparkline,
    Run.attempts,
    Run.error,
    Run.cancel_requested,
    Run.queue,
    Run.created_by,
    Run.project,
    Run.sweep_id,
    Run.waiting_reason,
    Run.executor,
    Run.nodes,
    Run.ranks,
    Run.notes,
    Run.archived,
)


#: GET /runs?sort=: the core columns a list can be sorted by in the database (config and metric columns are
#: sorted by the UI, on the page it loaded)
RunSort = Literal["created_at", "name", "status", "step", "last_reward", "finished_at"]
SortOrder = Literal["asc", "desc"]
_SORT_COLUMNS: dict[str, Any] = {
    "created_at": Run.created_at,
    "name": Run.name,
    "status": Run.status,
    "step": Run.step,
    "last_reward": Run.last_reward,
    "finished_at": Run.finished_at,
}


def run_order(sort: RunSort = "created_at", order: SortOrder = "desc") -> list[ColumnElement[Any]]:
    """ORDER BY for a runs list: the column, runs without a value (no reward yet, not finished) last in
    either direction, then newest first and the id so that pages never overlap."""
    col = _SORT_COLUMNS[sort]
    return [
        col.is_(None),  # false sorts before true: values first, then the nulls
        col.asc() if order == "asc" else col.desc(),
        Run.created_at.desc(),
        Run.id,
    ]


def tag_prefix_filter(prefix: str) -> ColumnElement[bool]:
    """Runs with a tag that starts with `prefix` (tags_index is `,a,b,`: a tag starts right after a comma)."""
    return Run.tags_index.contains(f",{prefix}", autoescape=True)


def summary_dict(run: Any) -> dict[str, Any]:
    """A run's list fields, from a Run or from a row of SUMMARY_COLUMNS."""
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "tags": list(run.tags or []),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "step": run.step,
        "total_steps": run.total_steps,
        "last_reward": run.last_reward,
        "reward_sparkline": list(run.reward_sparkline or []),
        "attempts": run.attempts,
        "error": run.error,
        "cancel_requested": run.cancel_requested,
        "queue": run.queue,
        "owner": run.created_by,
        "project": run.project,
        "sweep_id": run.sweep_id,
        "waiting_reason": run.waiting_reason,
        "executor": run.executor,
        "nodes": run.nodes,
        "ranks": run.ranks,
        "notes": run.notes,
        "archived": run.archived,
    }


def detail_dict(session: Session, run: Run) -> dict[str, Any]:
    events = session.execute(
        select(RunEvent.status, RunEvent.at, RunEvent.reason)
        .where(RunEvent.run_id == run.id)
        .order_by(RunEvent.id)
    ).all()
    return {
        **summary_dict(run),
        "config": run.config,
        "config_text": run.config_text,
        "findings": list(run.findings or []),
        "history": [{"status": e.status, "at": e.at, "reason": e.reason} for e in events],
        "summary": run.summary,
        "sweep_arm": run.sweep_arm,
    }
