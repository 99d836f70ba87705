"""GET /runs/{id}/events: Server-Sent Events with status changes, metric points and log lines.

Each event's `id` is a cursor `e<status event id>.m<step>.l<log seq>` covering the three streams, so a client
that reconnects with `Last-Event-ID` (or `?since=`) gets exactly what it missed. The stream ends with
`event: end` once the run is finished and everything was sent.

An open stream holds no database connection. One `RunWatcher` per app asks the database, in one query per
tick for all open streams, whether each watched run changed; only a stream whose run changed reads its new
rows, in a short session of its own (BUG-2: a stream used to keep a connection idle in transaction).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, SettingsDep
from api.errors import ApiError
from api.routers.runs import ERRORS, RUN_ID
from api.schemas import ErrorBody
from service.db.models import FINISHED, LogLine, MetricPoint, Run, RunEvent
from service.db.session import DbTuning, get_sessionmaker

log = logging.getLogger("grpolab.api")
router = APIRouter(prefix="/runs", tags=["runs"])

POLL_S = 0.5
KEEPALIVE_S = 15.0
BATCH = 500
_CURSOR = re.compile(r"^e(\d{1,10})\.m(-?\d{1,10})\.l(-?\d{1,10})$")
CURSOR_PATTERN = _CURSOR.pattern
_INT32 = 2**31 - 1  # the id, step and seq columns are 32-bit integers


@dataclass
class Cursor:
    event: int = 0
    step: int = -1
    seq: int = -1

    def __str__(self) -> str:
        return f"e{self.event}.m{self.step}.l{self.seq}"

    @classmethod
    def parse(cls, value: str | None, field: str = "since") -> Cursor:
        """The cursor in `value` (None: from the start); 422 naming `field` for anything else."""
        if value is None or not value.strip():
            return cls()
        m = _CURSOR.match(value.strip())
        c = cls(int(m[1]), int(m[2]), int(m[3])) if m else None
        if c is None or not (c.event <= _INT32 and -1 <= c.step <= _INT32 and -1 <= c.seq <= _INT32):
            message = (
                f"{field}: not an event cursor; use the `id` of an event this stream sent "
                "(e<event>.m<step>.l<seq>, each a 32-bit number), or leave it out to start from the beginning"
            )
            raise ApiError(
                422,
                "invalid_request",
                message,
                errors=[
                    {"pointer": f"/{field}", "field": field, "message": message, "line": None, "column": None}
                ],
            )
        return c


def _frame(event: str, data: dict[str, Any], cursor: Cursor) -> str:
    return f"id: {cursor}\nevent: {event}\ndata: {json.dumps(data, default=str)}\n\n"


def _status_frame(e: RunEvent, c: Cursor) -> str:
    c.event = e.id
    return _frame("status", {"status": e.status, "reason": e.reason, "at": e.at.isoformat()}, c)


def _poll(url: str, tuning: DbTuning, run_id: str, c: Cursor) -> tuple[list[str], bool, bool]:
    """New frames since the cursor, whether the run is finished with nothing left to send, and whether the
    run exists."""
    frames: list[str] = []
    with get_sessionmaker(url, tuning)() as s:
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
    return frames, status is None or (status in FINISHED and drained), status is not None


Version = tuple[Any, ...] | None


class RunWatcher:
    """Tells open streams when their run changed, with one query per tick for every watched run.

    A run's version is its status, heartbeat, step, log sequence and newest status event: the worker writes
    metric points and log lines in the same transaction that moves the heartbeat, and every status change adds
    an event, so an unchanged version means nothing new to send."""

    def __init__(self, url: str, tuning: DbTuning) -> None:
        self.url = url
        self.tuning = tuning
        self.watched: Counter[str] = Counter()
        self.versions: dict[str, Version] = {}
        self._tick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _read(self, run_ids: list[str]) -> dict[str, Version]:
        newest_event = (
            select(func.max(RunEvent.id)).where(RunEvent.run_id == Run.id).correlate(Run).scalar_subquery()
        )
        with get_sessionmaker(self.url, self.tuning)() as s:
            rows = s.execute(
                select(Run.id, Run.status, Run.heartbeat_at, Run.step, Run.log_seq, newest_event).where(
                    Run.id.in_(run_ids)
                )
            ).all()
        found: dict[str, Version] = {r[0]: tuple(r[1:]) for r in rows}
        return {rid: found.get(rid) for rid in run_ids}

    async def _loop(self) -> None:
        while self.watched:
            try:
                self.versions.update(await run_in_threadpool(self._read, list(self.watched)))
            except Exception as exc:  # database busy or away: the streams wait for the next tick
                log.warning("watching runs for event streams failed: %s", type(exc).__name__)
            tick, self._tick = self._tick, asyncio.Event()
            tick.set()
            await asyncio.sleep(POLL_S)
        self._task = None

    def watch(self, run_id: str) -> None:
        self.watched[run_id] += 1
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    def unwatch(self, run_id: str) -> None:
        self.watched[run_id] -= 1
        if self.watched[run_id] <= 0:
            del self.watched[run_id]
            self.versions.pop(run_id, None)

    async def changed(self, run_id: str, seen: Version, timeout: float) -> Version:
        """The run's version once it differs from `seen`, or `seen` after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.versions.get(run_id, seen) == seen:
            left = deadline - time.monotonic()
            if left <= 0:
                return seen
            try:
                await asyncio.wait_for(self._tick.wait(), left)
            except TimeoutError:
                return seen
        return self.versions.get(run_id, seen)


def _watcher(request: Request, settings: Any) -> RunWatcher:
    state = request.app.state
    watcher: RunWatcher | None = getattr(state, "run_watcher", None)
    if watcher is None:
        watcher = state.run_watcher = RunWatcher(settings.db_url, settings.db_tuning)
    return watcher


@router.get(
    "/{run_id}/events",
    summary="Live events (Server-Sent Events)",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "An event stream."},
        422: {
            "model": ErrorBody,
            "description": "A malformed run id or event cursor (`since`, `Last-Event-ID`).",
        },
        **ERRORS,
    },
)
async def run_events(
    request: Request,
    settings: SettingsDep,
    _user: CurrentUser,
    run_id: RUN_ID,
    since: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=CURSOR_PATTERN,
            description="Cursor `e<n>.m<step>.l<seq>` (an event's `id`) to resume after.",
        ),
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=100)] = None,
) -> StreamingResponse:
    """`event: status` {status, reason, at}; `event: metric` {step, metrics}; `event: log` {seq, at, line};
    `event: end` when the run is finished and everything was sent. Comments (`: keep-alive`) every 15 s.
    Read it with fetch() and the Authorization header."""
    cursor = Cursor.parse(last_event_id, "Last-Event-ID") if last_event_id else Cursor.parse(since)
    url, tuning = settings.db_url, settings.db_tuning
    # the first read happens before the response starts: an unknown run is a plain 404
    first, done, exists = await run_in_threadpool(_poll, url, tuning, run_id, cursor)
    if not exists:
        raise ApiError(404, "not_found", f"no run with id '{run_id[:40]}'")
    watcher = _watcher(request, settings)

    async def stream() -> AsyncIterator[str]:
        yield ": stream open\n\n"
        frames, finished = first, done
        watcher.watch(run_id)
        try:
            seen: Version = None
            last_sent = time.monotonic()
            while True:
                for f in frames:
                    yield f
                if frames:
                    last_sent = time.monotonic()
                if finished:
                    yield f"id: {cursor}\nevent: end\ndata: {{}}\n\n"
                    return
                if time.monotonic() - last_sent > KEEPALIVE_S:
                    yield ": keep-alive\n\n"
                    last_sent = time.monotonic()
                if await request.is_disconnected():
                    return
                version = await watcher.changed(run_id, seen, KEEPALIVE_S)
                if version == seen:
                    frames, finished = [], False  # nothing new: maybe a keep-alive
                    continue
                seen = version
                frames, finished, _ = await run_in_threadpool(_poll, url, tuning, run_id, cursor)
        finally:
            watcher.unwatch(run_id)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
