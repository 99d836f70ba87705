"""Workers and queues: who is serving which queue, what each worker runs, and why each queued run waits."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, Field

from api.deps import CurrentUser, OneThreadRoute, SessionDep, SettingsDep
from api.schemas import ErrorBody
from service.db.models import utcnow
from service.db.session import session_scope
from service.queue_status import list_workers, queue_overview, refresh_waiting_reasons
from service.settings import Settings

log = logging.getLogger("grpolab.api")


def _refresh(settings: Settings) -> None:
    with session_scope(settings.db_url) as session:
        refresh_waiting_reasons(session, settings)


async def _refresh_forever(settings: Settings) -> None:
    """Workers refresh the waiting reasons on every heartbeat; when the last one is killed nobody would, so the
    API does too, every half heartbeat timeout (one short thread hop; nothing written when nothing changed)."""
    while True:
        await asyncio.sleep(settings.heartbeat_timeout_s / 2)
        try:
            await anyio.to_thread.run_sync(_refresh, settings)
        except Exception:  # the database may be restarting: next round
            log.exception("refreshing waiting reasons failed")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    task = asyncio.create_task(_refresh_forever(app.state.settings))
    try:
        yield
    finally:
        task.cancel()


router = APIRouter(tags=["workers"], route_class=OneThreadRoute, lifespan=_lifespan)
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid token."}
}


class WorkerOut(BaseModel):
    name: str = Field(
        description="Celery node name, e.g. `grpolab-cpu-1234@host`; runs record it as their worker."
    )
    host: str = Field(description="Host name of the machine.")
    queues: list[str] = Field(description="Queues the worker consumes (`cpu`, `gpu`).")
    gpus: int = Field(description="GPUs visible to the worker (CUDA_VISIBLE_DEVICES or nvidia-smi).")
    executor: str = Field(description="How it executes runs: `local` (a child process) or `ray`.")
    current_run: str | None = Field(description="Id of the run it is working on, or null when idle.")
    started_at: datetime
    heartbeat_at: datetime = Field(description="Its last heartbeat.")
    heartbeat_age_s: float = Field(description="Seconds since its last heartbeat, at the time of the answer.")
    alive: bool = Field(
        description="Heartbeat within `heartbeat_timeout_s` and not stopped. A dead worker stays listed for "
        "7 days."
    )
    info: dict[str, Any] = Field(description="Facts it reported: pid, cpus; `stopped_at` once it shut down.")


class WorkerList(BaseModel):
    items: list[WorkerOut]
    heartbeat_timeout_s: float = Field(description="A worker silent for longer than this is not alive.")


class QueuedRunOut(BaseModel):
    id: str
    name: str
    owner: str | None
    project: str
    position: int = Field(description="1 = the next run a worker of this queue takes.")
    enqueued_at: datetime | None = Field(
        description="When its message was sent (null: the reaper resends it)."
    )
    created_at: datetime
    waiting_reason: str = Field(
        description="Why it has not started: no live worker on the queue (stored on the run too), or its place "
        "in line."
    )


class QueueOut(BaseModel):
    name: str = Field(description="Queue name (`cpu`, `gpu`).")
    depth: int = Field(description="Queued runs on this queue (all of them; `runs` lists the first `limit`).")
    live_workers: list[str] = Field(description="Live workers consuming the queue.")
    idle_workers: list[str] = Field(description="Those of them running nothing now.")
    runs: list[QueuedRunOut] = Field(description="Queued runs in the order workers take them.")


class QueueList(BaseModel):
    queues: list[QueueOut]


def _worker_dict(view: Any, now: datetime) -> dict[str, Any]:
    r = view.record
    return {
        "name": r.name,
        "host": r.host,
        "queues": list(r.queues or []),
        "gpus": r.gpus,
        "executor": r.executor,
        "current_run": view.current_run,
        "started_at": r.started_at,
        "heartbeat_at": r.heartbeat_at,
        "heartbeat_age_s": round(max(0.0, (now - r.heartbeat_at).total_seconds()), 1),
        "alive": view.alive,
        "info": dict(r.info or {}),
    }


@router.get("/workers", response_model=WorkerList, summary="Registered workers", responses=ERRORS)
def get_workers(session: SessionDep, settings: SettingsDep, _user: CurrentUser) -> Any:
    """Every worker that registered in the last 7 days, live ones first, with the run each is working on."""
    now = utcnow()
    views = list_workers(session, settings, now)
    return {
        "items": [_worker_dict(v, now) for v in views],
        "heartbeat_timeout_s": settings.heartbeat_timeout_s,
    }


@router.get(
    "/queue", response_model=QueueList, summary="Queued runs per queue, with positions", responses=ERRORS
)
def get_queue(
    session: SessionDep,
    settings: SettingsDep,
    _user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=1000, description="Queued runs listed per queue.")] = 200,
) -> Any:
    """Per queue: how many runs wait, which live workers consume it, and the queued runs in the order they
    start, each with why it waits. Stored waiting reasons are brought up to date first (workers come and go)."""
    if refresh_waiting_reasons(session, settings):
        session.commit()
    return {"queues": queue_overview(session, settings, limit=limit)}
