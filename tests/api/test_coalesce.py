"""Request coalescing (api/coalesce.py): identical reads share a query only when that query started after they
arrived, so a read never misses a write committed before it arrived; a failed query is not shared."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from api.coalesce import Coalescer


def test_reads_that_arrived_before_a_running_query_started_share_it() -> None:
    c = Coalescer()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> bytes:
        calls.append(1)
        started.set()
        release.wait(5)
        return b"snapshot-1"

    arrived = time.monotonic()  # both reads arrived before the query below starts
    out: dict[str, bytes] = {}
    leader = threading.Thread(target=lambda: out.__setitem__("a", c.get("k", arrived, slow)))
    leader.start()
    started.wait(5)
    joiner = threading.Thread(target=lambda: out.__setitem__("b", c.get("k", arrived, slow)))
    joiner.start()
    time.sleep(0.05)
    release.set()
    leader.join(5)
    joiner.join(5)
    assert out == {"a": b"snapshot-1", "b": b"snapshot-1"}
    assert len(calls) == 1 and (c.queries, c.shared) == (1, 1)


def test_a_read_that_arrived_after_a_query_started_runs_its_own() -> None:
    c = Coalescer()
    c.get("k", time.monotonic(), lambda: b"old")
    later = time.monotonic()  # arrived after that query started (and finished): it may hold a newer write
    assert c.get("k", later, lambda: b"new") == b"new"
    assert (c.queries, c.shared) == (2, 0)
    # a finished query that started after a read arrived still answers it, without a query
    assert c.get("k", later, lambda: b"never") == b"new"
    assert (c.queries, c.shared) == (2, 1)


def test_different_keys_never_share_and_a_failure_is_not_shared() -> None:
    c = Coalescer()
    t0 = time.monotonic()
    assert c.get(("runs", 20), t0, lambda: b"twenty") == b"twenty"
    assert c.get(("runs", 50), t0, lambda: b"fifty") == b"fifty"

    def boom() -> bytes:
        raise LookupError("no run")

    with pytest.raises(LookupError):
        c.get("gone", t0, boom)
    # the failed flight is not reused: the next read asks again and can succeed
    assert c.get("gone", t0, lambda: b"back") == b"back"


def test_it_remembers_at_most_keep_keys() -> None:
    c = Coalescer(keep=3)
    t0 = time.monotonic()
    for i in range(10):
        c.get(i, t0, lambda i=i: str(i).encode())
    assert len(c._flights) == 3 and list(c._flights) == [7, 8, 9]


def test_a_run_listed_right_after_it_was_submitted_is_in_the_list(client: Any) -> None:
    """Read-your-writes through the API, with the coalescer in the path: each list and detail shows what was
    submitted just before it; a 404 is each caller's own."""
    from infra import tiny_config

    for i in range(3):
        before = client.get("/api/v1/runs", params={"limit": 5}).json()
        run = client.post("/api/v1/runs", json={"config_text": tiny_config(steps=1), "name": f"coalesce-{i}"})
        assert run.status_code == 201, run.text
        after = client.get("/api/v1/runs", params={"limit": 5}).json()
        assert after["total"] == before["total"] + 1
        assert after["items"][0]["id"] == run.json()["id"]
        detail = client.get(f"/api/v1/runs/{run.json()['id']}")
        assert detail.status_code == 200 and detail.json()["name"] == f"coalesce-{i}"
    assert client.get("/api/v1/runs/nope").status_code == 404
