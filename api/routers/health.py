"""GET /healthz (no auth): is the database reachable, is the broker reachable."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.broker import broker_ok
from api.db.session import get_engine
from api.deps import SettingsDep
from api.schemas import Health

router = APIRouter(tags=["health"])


def _db_ok(url: str) -> tuple[bool, str]:
    try:
        with get_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True, "ok"
    except Exception as exc:  # any driver error means "not reachable" to a health check
        return False, f"{type(exc).__name__}"


@router.get(
    "/healthz",
    response_model=Health,
    summary="Liveness and dependencies (no auth)",
    responses={503: {"model": Health, "description": "Database or broker unreachable."}},
)
async def healthz(settings: SettingsDep) -> Any:
    db_ok, db_msg = await anyio.to_thread.run_sync(_db_ok, settings.db_url)
    br_ok, _ = await anyio.to_thread.run_sync(broker_ok, settings)
    ok = db_ok and br_ok
    data = {
        "status": "ok" if ok else "degraded",
        "database": db_msg,
        "broker": "ok" if br_ok else "unreachable",
    }
    return data if ok else JSONResponse(data, status_code=503)
