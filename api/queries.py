"""Reading runs for the API: ORM rows to response bodies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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


def summary_dict(run: Run) -> dict[str, Any]:
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
