"""Concurrency against a real uvicorn process on PostgreSQL + Redis (BUG-1, BUG-2, BUG-6, BUG-8).

A burst of simultaneous requests with a cold token cache must all be answered (no 5xx, no time-out), open
event streams must hold no connection "idle in transaction", a 500 must not cost the client its keep-alive
connection, and /healthz must report a database that never answers instead of hanging. Values are asserted,
never durations.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from infra import PG_ADMIN, free_port, make_token, service_env, start_api, tiny_config

BURST = 200
STREAMS = 50
KEYS = 5  # shared Idempotency-Keys in the burst, 10 POSTs each


@pytest.fixture(scope="module")
def api(pg, redis_srv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """One `grpolab api` process for this module, on the test database; no worker, so runs stay queued. Each
    test makes new tokens, so the process's token cache is cold for them."""
    tmp = tmp_path_factory.mktemp("api")
    proc, base = start_api(service_env(pg.url, redis_srv.url, tmp / "data"), tmp / "api.log")
    try:
        yield base, proc.pid
    finally:
        proc.stop()


def _pg_states(db_url: str, api_pid: int | None = None) -> Counter[str]:
    """Connections to the test database by state, as PostgreSQL sees them (this query's own one excluded);
    only the API process's (its application_name) when `api_pid` is given."""
    name = db_url.rsplit("/", 1)[1]
    query = "SELECT state, count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    args: tuple[str, ...] = (name,)
    if api_pid is not None:
        query += " AND application_name = %s"
        args += (f"grpolab-{api_pid}",)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(query + " GROUP BY state", args).fetchall()
    return Counter({str(state): int(n) for state, n in rows})


async def _burst(base: str, tokens: list[str]) -> tuple[Counter[int | str], Counter[str]]:
    """BURST requests released at once over BURST already-open keep-alive connections."""
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    statuses: Counter[int | str] = Counter()
    ids: Counter[str] = Counter()
    gate = asyncio.Event()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        # open every connection first (401s need no database and warm nothing)
        await asyncio.gather(*(client.get("/api/v1/me") for _ in range(BURST)))

        async def one(i: int) -> None:
            token = tokens[i % len(tokens)]
            headers = {"Authorization": f"Bearer {token}"}
            await gate.wait()
            try:
                if i % 4 == 0:  # POSTs: KEYS keys, each sent 10 times by the same user
                    key = i % KEYS
                    r = await client.post(
                        "/api/v1/runs",
                        json={"config_text": tiny_config(), "name": f"burst-{key}"},
                        headers={**headers, "Idempotency-Key": f"key-{key}"},
                    )
                    if r.status_code in (200, 201):
                        ids[r.json()["id"]] += 1
                elif i % 4 == 1:
                    r = await client.get("/api/v1/me", headers=headers)
                else:
                    r = await client.get("/api/v1/runs", params={"limit": 5}, headers=headers)
                statuses[r.status_code] += 1
            except httpx.TimeoutException:
                statuses["timeout"] += 1
            except httpx.TransportError as exc:  # named with its cause, so a failure says which and why
                statuses[f"{type(exc).__name__}: {exc!r} (request {i})"] += 1

        tasks = [asyncio.create_task(one(i)) for i in range(BURST)]
        await asyncio.sleep(0.2)
        gate.set()
        await asyncio.gather(*tasks)
    return statuses, ids


def test_burst_with_cold_token_cache_is_answered(settings, api) -> None:  # type: ignore[no-untyped-def]
    base, api_pid = api
    # the POSTs all come from token 0 (i % 4 == 0 and len(tokens) == 4): keys are per user
    tokens = [make_token(settings.db_url, f"burst-{n}") for n in range(4)]
    statuses, ids = asyncio.run(_burst(base, tokens))
    posts = BURST // 4
    assert sum(statuses.values()) == BURST
    assert not [s for s in statuses if not isinstance(s, int) or s >= 500], statuses
    # every GET answered 200; each key made exactly one run (201), its repeats got that run back (200)
    assert statuses[201] == KEYS and statuses[200] == BURST - KEYS, statuses
    assert len(ids) == KEYS and sum(ids.values()) == posts
    assert _pg_states(settings.db_url)["idle in transaction"] == 0
    assert (
        sum(_pg_states(settings.db_url, api_pid).values()) <= settings.api_threads + 4 + 2
    )  # pool + /healthz's


def test_open_streams_hold_no_connection(settings, api) -> None:  # type: ignore[no-untyped-def]
    base, api_pid = api
    token = make_token(settings.db_url, "watcher")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        run_id = c.post("/api/v1/runs", json={"config_text": tiny_config()}).json()["id"]

    async def watch() -> tuple[int, Counter[str], int, int]:
        limits = httpx.Limits(max_connections=STREAMS + 5)
        async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
            opened = asyncio.Event()
            ready = 0
            release = asyncio.Event()

            async def stream() -> None:
                nonlocal ready
                async with client.stream("GET", f"/api/v1/runs/{run_id}/events") as r:
                    assert r.status_code == 200
                    async for line in r.aiter_lines():
                        if line == "event: status":  # the run's first history entry: the stream is live
                            ready += 1
                            if ready == STREAMS:
                                opened.set()
                            break
                    await release.wait()

            tasks = [asyncio.create_task(stream()) for _ in range(STREAMS)]
            await asyncio.wait_for(opened.wait(), 30)
            await asyncio.sleep(1.5)  # a few watcher ticks while every stream is open
            states = await asyncio.to_thread(_pg_states, settings.db_url)
            api_states = await asyncio.to_thread(_pg_states, settings.db_url, api_pid)
            listed = await client.get("/api/v1/runs", params={"limit": 1})
            one = await client.get(f"/api/v1/runs/{run_id}")
            release.set()
            await asyncio.gather(*tasks)
            return ready, states, api_states, listed.status_code, one.status_code

    ready, states, api_states, listed, one = asyncio.run(watch())
    assert ready == STREAMS
    assert states["idle in transaction"] == 0, states
    # 50 open streams cost no connection each: the API holds at most its pool (+ overflow) and /healthz's engine,
    # far fewer than the streams (before the fix every stream held one "idle in transaction")
    tuning = settings.db_tuning
    bound = tuning.pool_size + tuning.max_overflow + 2
    assert bound < STREAMS, (
        "the pool settings no longer make the test meaningful: fewer streams than connections"
    )
    held = sum(api_states.values())
    assert held > 0, (
        f"no connection named after the API process {api_pid}: the count below would prove nothing"
    )
    assert held <= bound, api_states
    assert (listed, one) == (200, 200)


def test_bad_event_cursor_is_422_naming_it(settings, api) -> None:  # type: ignore[no-untyped-def]
    base, _ = api
    headers = {"Authorization": f"Bearer {make_token(settings.db_url)}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        run_id = c.post("/api/v1/runs", json={"config_text": tiny_config()}).json()["id"]
        for cursor in ("e99999999999999999999.m0.l0", "e1.m0", "e1.m0.l99999999999"):
            r = c.get(f"/api/v1/runs/{run_id}/events", params={"since": cursor})
            assert r.status_code == 422, (cursor, r.text)
            assert "since" in r.json()["detail"]["message"]
        r = c.get(f"/api/v1/runs/{run_id}/events", headers={"Last-Event-ID": "e3000000000.m0.l0"})
        assert r.status_code == 422 and "Last-Event-ID" in r.json()["detail"]["message"]


def test_database_settings_reach_postgres(settings) -> None:  # type: ignore[no-untyped-def]
    """Time-outs are set on the service's connections, and the pool is never smaller than the thread limit."""
    from sqlalchemy import text

    from service.db.session import get_engine

    tuned = settings.model_copy(
        update={"api_threads": 8, "db_pool_size": 4, "db_statement_timeout_s": 7, "db_pool_timeout_s": 3}
    )
    engine = get_engine(tuned.db_url, tuned.db_tuning)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "7s"
        assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar_one() == "1min"
    assert engine.pool.size() == 8  # type: ignore[attr-defined]
    assert engine.pool.timeout() == 3  # type: ignore[attr-defined]
    engine.dispose()


def test_error_keeps_the_keep_alive_connection(settings) -> None:  # type: ignore[no-untyped-def]
    """An unexpected exception answers 500 in the error shape, and the same connection serves the next request."""
    import uvicorn

    from api.app import create_app

    app = create_app(settings)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.router.add_api_route("/boom", boom)  # type: ignore[arg-type]
    app.router.routes.insert(0, app.router.routes.pop())  # before the web UI's catch-all route
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            threading.Event().wait(0.05)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/boom")
        r = conn.getresponse()
        body = r.read()
        assert r.status == 500 and b'"internal_error"' in body
        assert (r.getheader("connection") or "").lower() != "close"
        conn.request("GET", "/healthz")  # same socket: http.client does not reconnect by itself
        r2 = conn.getresponse()
        assert r2.status == 200, r2.read()
        conn.close()
    finally:
        server.should_exit = True
        thread.join(10)


def test_healthz_reports_a_database_that_never_answers(settings) -> None:  # type: ignore[no-untyped-def]
    """A database that accepts connections and never answers is reported as `timeout` (503), not waited for."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # accepts (the kernel does) and never answers
    port = hole.getsockname()[1]
    try:
        dead = settings.model_copy(
            update={"database_url": f"postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere"}
        )
        with TestClient(create_app(dead, run_migrations=False)) as c:
            r = c.get("/healthz")
        assert r.status_code == 503
        assert r.json()["database"] == "timeout" and r.json()["status"] == "degraded"
    finally:
        hole.close()
