"""GET /healthz (no auth): is the database reachable, is the broker reachable — answered within a second.

The checks use their own small engine (service.db.session.HEALTH_TUNING) and their own thread limiter, so a busy
or hung main pool, or a thread pool full of waiting requests, cannot make a probe hang: a check that takes
longer than HEALTH_DEADLINE_S is reported as `timeout` (503) and left to finish in the background.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SettingsDep
from api.schemas import Health
from service.broker import broker_ok
from service.db.session import HEALTH_TUNING, get_engine
from service.settings import Settings

router = APIRouter(tags=["health"])

HEALTH_DEADLINE_S = 0.8
# at most this many checks in flight: hung ones (a black-holed database) cannot pile up threads
_LIMITER = anyio.CapacityLimiter(4)


def _db_ok(url: str) -> str:
    try:
        with get_engine(url, HEALTH_TUNING).connect() as conn:
            conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any driver error means "not reachable" to a health check
        return f"{type(exc).__name__}"


def _broker_ok(settings: Settings) -> str:
    ok, _ = broker_ok(settings)
    return "ok" if ok else "unreachable"


async def _check(fn: Any, arg: Any, out: dict[str, str], key: str) -> None:
    out[key] = await anyio.to_thread.run_sync(fn, arg, limiter=_LIMITER, abandon_on_cancel=True)


@router.get(
    "/healthz",
    response_model=Health,
    summary="Liveness and dependencies (no auth)",
    responses={
        503: {"model": Health, "description": "Database or broker unreachable, or too slow to answer."}
    },
)
async def healthz(settings: SettingsDep) -> Any:
    found: dict[str, str] = {"database": "timeout", "broker": "timeout"}
    with anyio.move_on_after(HEALTH_DEADLINE_S):
        async with anyio.create_task_group() as tg:
            tg.start_soon(_check, _db_ok, settings.db_url, found, "database")
            tg.start_soon(_check, _broker_ok, settings, found, "broker")
    ok = found["database"] == "ok" and found["broker"] == "ok"
    data = {"status": "ok" if ok else "degraded", **found}
    return data if ok else JSONResponse(data, status_code=503)
