"""Identical reads that arrive together share one database query (request coalescing).

The rule that keeps it correct: a read may be answered with a result whose query *started after the read
arrived* at the server. Such a result was computed from a snapshot that holds every write committed before the
read arrived, which is all that a query of its own could promise (a client that created a run and then lists
runs sees its run). A result whose query started earlier is never shared with a later arrival.

Under a burst, hundreds of identical `GET /runs?limit=20` then cost a handful of queries and serialisations
instead of one each, and a team's open run pages polling the same run share their reads. A read that arrives
when no suitable result exists runs its own query; a shared query that fails is retried by each waiter on its
own, so an error reaches only the request that caused it.

The arrival time is stamped by the `Admission` middleware (`ARRIVED_KEY` in the ASGI scope) before the request
waits for a slot; the key covers everything the response depends on (path and query, never the caller: the
endpoints that coalesce answer every authenticated caller the same).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

#: the ASGI scope key under which the Admission middleware records when a request arrived (time.monotonic())
ARRIVED_KEY = "grpolab.arrived"


class _Flight:
    __slots__ = ("done", "failed", "started", "value")

    def __init__(self, started: float) -> None:
        self.started = started
        self.done = threading.Event()
        self.value: bytes = b""
        self.failed = False


class Coalescer:
    """Per process: the newest flight per key, running or finished (at most `keep` keys remembered)."""

    def __init__(self, keep: int = 256) -> None:
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}
        self._keep = keep
        self.queries = 0  # flights started: what the shared reads cost (tests and benchmarks read it)
        self.shared = 0  # reads answered by another read's flight

    def get(self, key: Hashable, arrived: float, compute: Callable[[], bytes]) -> bytes:
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None and flight.started >= arrived and not flight.failed:
                self.shared += 1
                mine = False
            else:
                # started now, before the query takes its snapshot: every read that arrived before now may join
                flight = _Flight(time.monotonic())
                self._flights.pop(key, None)
                self._flights[key] = flight  # newest last: eviction below drops the oldest first
                self.queries += 1
                mine = True
                while len(self._flights) > self._keep:
                    del self._flights[next(iter(self._flights))]
        if mine:
            try:
                flight.value = compute()
            except BaseException:
                flight.failed = True
                raise
            finally:
                flight.done.set()
            return flight.value
        flight.done.wait()
        return compute() if flight.failed else flight.value


def shared_json(
    request: Request, key: Hashable, model: type[BaseModel], build: Callable[[], Any]
) -> Response:
    """The JSON response of `model` for `build()`'s data, from this app's coalescer: an identical read that
    arrived before a running (or finished) `build` started shares its body instead of building its own."""

    def body() -> bytes:
        return model.model_validate(build()).model_dump_json().encode()

    stamped = request.scope.get(ARRIVED_KEY)  # absent without the Admission middleware: share nothing earlier
    arrived = float(stamped) if stamped is not None else time.monotonic()
    reads: Coalescer = request.app.state.reads
    return Response(content=reads.get(key, arrived, body), media_type="application/json")
