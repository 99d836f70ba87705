"""GET /runs/{id}/events: Server-Sent Events with status changes, metric points and log lines.

Each event's `id` is a cursor `e<status event id>.m<step>.l<log seq>` covering the three streams, so a client
that reconnects with `Last-Event-ID` (or `?since=`) gets exactly what it missed. The stream ends with
`event: end` once the run is finished and everything was sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from api.db.models import FINISHED, LogLine, MetricPoint, Run, RunEvent
from api.db.session import get_sessionmaker
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.queries import get_run
from api.routers.runs import ERRORS

router = APIRouter(prefix="/runs", tags=["runs"])

POLL_S = 0.5
KEEPALIVE_S = 15.0
BATCH = 500
_CURSOR = re.compile(r"^e(-?\d+)\.m(-?\d+)\.l(-?\d+)$")


@dataclass
class Cursor:
    event: int = 0
    step: int = -1
    seq: int = -1

    def __str__(self) -> str:
        return f"e{self.event}.m{self.step}.l{self.seq}"

    @classmethod
    def parse(cls, value: str | None) -> Cursor:
        m = _CURSOR.match((value or "").strip())
        return cls(int(m[1]), int(m[2]), int(m[3])) if m else cls()


def _frame(event: str, data: dict[str, Any], cursor: Cursor) -> str:
    return f"id: {cursor}\nevent: {event}\ndata: {json.dumps(data, default=str)}\n\n"


def _status_frame(e: RunEvent, c: Cursor) -> str:
    c.event = e.id
    return _frame("status", {"status": e.status, "reason": e.reason, "at": e.at.isoformat()}, c)


def _poll(url: str, run_id: str, c: Cursor) -> tuple[list[str], bool]:
    """New frames since the cursor, and whether the run is finished with nothing left to send."""
    frames: list[str] = []
    with get_sessionmaker(url)() as s:
        # status first: if it is finished now, every metric and log line was committed before it
        status = s.execute(select(Run.status).where(Run.id == run_id)).scalar_one_or_none()
        events = list(
            s.execute(
                select(RunEvent).where(RunEvent.run_id == run_id, RunEvent.id > c.event).order_by(RunEvent.id)
            ).scalars()
        )
        # a finishing status (and what follows it) is sent after this poll's metrics and logs
        cut = next((i for i, e in enumerate(events) if e.status in FINISHED), len(events))
        frames += [_status_frame(e, c) for e in events[:cut]]
        metrics = s.execute(
            select(MetricPoint.step, MetricPoint.metrics)
            .where(MetricPoint.run_id == run_id, MetricPoint.step > c.step)
            .order_by(MetricPoint.step)
            .limit(BATCH)
        ).all()
        for m in metrics:
            c.step = m.step
            frames.append(_frame("metric", {"step": m.step, "metrics": m.metrics}, c))
        logs = s.execute(
            select(LogLine.seq, LogLine.at, LogLine.line)
            .where(LogLine.run_id == run_id, LogLine.seq > c.seq)
            .order_by(LogLine.seq)
            .limit(BATCH)
        ).all()
        for ln in logs:
            c.seq = ln.seq
            frames.append(_frame("log", {"seq": ln.seq, "at": ln.at.isoformat(), "line": ln.line}, c))
    drained = len(metrics) < BATCH and len(logs) < BATCH
    if drained:
        frames += [_status_frame(e, c) for e in events[cut:]]
    return frames, status is None or (status in FINISHED and drained)


@router.get(
    "/{run_id}/events",
    summary="Live events (Server-Sent Events)",
    responses={200: {"content": {"text/event-stream": {}}, "description": "An event stream."}, **ERRORS},
)
async def run_events(
    run_id: str,
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    _user: CurrentUser,
    since: Annotated[
        str | None, Query(max_length=100, description="Cursor `e<n>.m<step>.l<seq>` to resume after.")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=100)] = None,
) -> StreamingResponse:
    """`event: status` {status, reason, at}; `event: metric` {step, metrics}; `event: log` {seq, at, line};
    `event: end` when the run is finished and everything was sent. Comments (`: keep-alive`) every 15 s.
    Read it with fetch() and the Authorization header."""
    await anyio.to_thread.run_sync(get_run, session, run_id)
    cursor = Cursor.parse(last_event_id or since)
    url = settings.db_url

    async def stream() -> AsyncIterator[str]:
        yield ": stream open\n\n"
        last_sent = time.monotonic()
        while True:
            frames, done = await anyio.to_thread.run_sync(_poll, url, run_id, cursor)
            for f in frames:
                yield f
            if frames:
                last_sent = time.monotonic()
            if done:
                yield f"id: {cursor}\nevent: end\ndata: {{}}\n\n"
                return
            if time.monotonic() - last_sent > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_S)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
