"""The one place a new runs row is shaped: POST /runs and each sweep arm write the same columns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

from service.db.models import DEFAULT_PROJECT, RunStatus
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
