"""The one place a new runs row is shaped: POST /runs and each sweep arm write the same columns."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Insert, bindparam, insert, select

from service.db.lifecycle import create_run_history
from service.db.models import DEFAULT_PROJECT, Run, RunEvent, RunStatus
from service.settings import Settings


class AcceptedConfig(Protocol):
    """What a validated and linted submission carries (api.submission.Prepared)."""

    name: str
    tags: list[str]
    config: dict[str, Any]
    config_text: str
    findings: list[dict[str, Any]]
    queue: str
    output_subdir: str | None


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def new_run_row(
    settings: Settings,
    p: AcceptedConfig,
    *,
    owner_name: str,
    owner_id: int | None,
    now: datetime,
    project: str = DEFAULT_PROJECT,
    idempotency_key: str | None = None,
    sweep_id: str | None = None,
    sweep_arm: dict[str, Any] | None = None,
    waiting_reason: str | None = None,
) -> dict[str, Any]:
    """Every column of a queued run, for one Core insert (no ORM defaults are relied on: the response is shaped
    from this same dict). The output folder is `<data_dir>/<run.output_dir>/<id>` or `<runs_dir>/<id>`."""
    run_id = new_run_id()
    out = (
        settings.data_dir.resolve() / p.output_subdir / run_id
        if p.output_subdir
        else settings.runs_dir / run_id
    )
    return {
        "id": run_id,
        "name": p.name,
        "status": RunStatus.QUEUED.value,
        "tags": p.tags,
        "tags_index": "," + ",".join(p.tags) + ",",
        "config": p.config,
        "config_text": p.config_text,
        "findings": p.findings,
        "queue": p.queue,
        "idempotency_key": idempotency_key,
        "created_by": owner_name,
        "owner_id": owner_id,
        "created_at": now,
        "enqueued_at": now,
        "attempts": 0,
        "cancel_requested": False,
        "cancel_requested_by": None,
        "step": 0,
        "total_steps": int(p.config["run"]["steps"]),
        "reward_sparkline": [],
        "log_seq": 0,
        "output_dir": str(out),
        "project": project,
        "sweep_id": sweep_id,
        "sweep_arm": sweep_arm,
        # where it runs is recorded by the worker that claims it
        "executor": "local",
        "nodes": 1,
        "ranks": 1,
        "notes": "",
        "archived": False,
        "waiting_reason": waiting_reason,
    }


@functools.lru_cache(maxsize=4)
def _run_and_history(columns: tuple[str, ...]) -> Insert:
    """INSERT the run and, from what it returns, its first history row: one statement (PostgreSQL). Built once
    per column set; every value is a bound parameter, so it is compiled once too."""
    table = Run.__table__
    new_run = (
        insert(Run)
        .values({c: bindparam(c, type_=table.c[c].type) for c in columns})
        .returning(table.c.id)
        .cte("new_run")
    )
    event = RunEvent.__table__
    return insert(RunEvent).from_select(
        ["run_id", "status", "at", "reason"],
        select(
            new_run.c.id,
            bindparam("ev_status", type_=event.c.status.type),
            bindparam("ev_at", type_=event.c.at.type),
            bindparam("ev_reason", type_=event.c.reason.type),
        ),
    )


def insert_new_run(conn: Connection, values: dict[str, Any], reason: str) -> None:
    """Store a run shaped by new_run_row with its `queued` history row. On PostgreSQL that is one statement, atomic
    on its own, so a submit can run in autocommit (no BEGIN/COMMIT round trips); elsewhere two statements in the
    caller's transaction."""
    at = values["created_at"]
    if conn.dialect.name == "postgresql":
        params = {**values, "ev_status": RunStatus.QUEUED.value, "ev_at": at, "ev_reason": reason}
        conn.execute(_run_and_history(tuple(values)), params)
        return
    conn.execute(insert(Run), values)
    create_run_history(conn, values["id"], reason, at)
