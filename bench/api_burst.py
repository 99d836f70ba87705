"""Burst and open streams against the service on PostgreSQL + Redis: can a team share one API?

    .venv/bin/python bench/api_burst.py [--burst 1000] [--streams 200] [--posts 1000]

Starts a fresh PostgreSQL database (127.0.0.1:5432, user postgres), a private redis-server and an API
(uvicorn, 1 process unless `--api-workers N`; no worker: submitted runs stay queued), then:

1. opens `--streams` Server-Sent-Event streams on queued runs and keeps them open;
2. with the streams open, times `GET /runs?limit=20` one request at a time (p50);
3. with the streams still open, releases `--burst` requests at the same instant over already-open keep-alive
   connections: GET /runs, GET /runs/{id}, GET /me, POST /runs without a key, POST /runs with shared
   Idempotency-Keys (10 POSTs per key) — p50/p99, statuses, 5xx, client time-outs;
4. closes the streams and measures POST /runs throughput (`--posts` requests, 32 at a time) and the API's CPU
   time per POST.

A probe asks `/healthz` every 0.25 s throughout, from a process of its own; its worst latency is printed. The burst
and the POSTs use a minimal HTTP/1.1 client on asyncio streams (httpx would cost the client about as much CPU
per request as the API spends, on the same two cores); the streams use httpx. Prints
figures, asserts nothing. The client shares the machine's cores with the server: note the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "service"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_submit import cpu_seconds
from infra import FreshDatabase, RedisServer, make_token, service_env, start_api, tiny_config

TIMEOUT_S = 30.0
USERS = 4


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def probe_healthz(base: str, stop: Any, results: Any) -> None:
    """In a process of its own (the benchmark client's busy event loop must not delay the probe): GET /healthz
    every 0.25 s on one keep-alive connection until `stop` is set; sends back (latencies, failures)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(base)
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=TIMEOUT_S)
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            conn.request("GET", "/healthz")
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                failures[str(r.status)] += 1
        except OSError as exc:
            failures[type(exc).__name__] += 1
            conn.close()
        latencies.append(time.perf_counter() - t0)
        stop.wait(0.25)
    results.send((latencies, dict(failures)))


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (Content-Length bodies only, as the API sends
    them): cheap on the client side, so the figures are the API's rather than the client's."""

    def __init__(self, base: str) -> None:
        from urllib.parse import urlsplit

        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> int:
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def open_streams(
    base: str, tokens: list[str], run_ids: list[str], n: int, stop: asyncio.Event
) -> tuple[list[asyncio.Task[None]], Counter[str]]:
    """n event streams spread over run_ids; returns once every stream has received its first status event."""
    outcome: Counter[str] = Counter()
    ready = asyncio.Event()
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
    client = httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(TIMEOUT_S, read=None))

    async def one(i: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
        try:
            async with client.stream(
                "GET", f"/api/v1/runs/{run_ids[i % len(run_ids)]}/events", headers=headers
            ) as r:
                if r.status_code != 200:
                    outcome[f"status {r.status_code}"] += 1
                    return
                async for line in r.aiter_lines():
                    if line == "event: status":
                        outcome["open"] += 1
                        if outcome["open"] == n:
                            ready.set()
                        break
                await stop.wait()
        except httpx.HTTPError as exc:
            outcome[type(exc).__name__] += 1
        finally:
            if sum(outcome.values()) == n:
                ready.set()

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.wait_for(ready.wait(), 120)
    tasks.append(asyncio.create_task(_close_later(client, stop)))
    return tasks, outcome


async def _close_later(client: httpx.AsyncClient, stop: asyncio.Event) -> None:
    await stop.wait()
    await asyncio.sleep(0.5)
    await client.aclose()


async def timed_gets(base: str, token: str, n: int) -> list[float]:
    out = []
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT_S
    ) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            r = await client.get("/api/v1/runs", params={"limit": 20})
            out.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    return out


async def burst(base: str, tokens: list[str], run_ids: list[str], n: int) -> tuple[list[float], Counter[str]]:
    """n mixed requests released at one instant over n already-open keep-alive connections."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    gate = asyncio.Event()
    body = json.dumps({"config_text": tiny_config(steps=2), "tags": ["burst"]}).encode()
    conns = [RawConnection(base) for _ in range(n)]
    await asyncio.gather(*(c.open() for c in conns))

    async def one(i: int, conn: RawConnection) -> None:
        headers = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"}
        kind = i % 10
        await gate.wait()
        t0 = time.perf_counter()
        try:
            if kind < 4:
                call = conn.request("GET", "/api/v1/runs?limit=20", headers)
            elif kind < 6:
                call = conn.request("GET", f"/api/v1/runs/{run_ids[i % len(run_ids)]}", headers)
            elif kind == 6:
                call = conn.request("GET", "/api/v1/me", headers)
            elif kind < 9:  # 20 % POSTs with no key: each makes a run
                call = conn.request("POST", "/api/v1/runs", headers, body)
            else:  # 10 % POSTs sharing keys: 10 POSTs per (user, key), one run each
                key = f"shared-{(i // 10) % max(1, n // 100)}"
                call = conn.request("POST", "/api/v1/runs", {**headers, "Idempotency-Key": key}, body)
            statuses[str(await asyncio.wait_for(call, TIMEOUT_S))] += 1
        except TimeoutError:
            statuses["timeout"] += 1
        except (OSError, asyncio.IncompleteReadError) as exc:
            statuses[type(exc).__name__] += 1
        latencies.append(time.perf_counter() - t0)

    tasks = [asyncio.create_task(one(i, c)) for i, c in enumerate(conns)]
    await asyncio.sleep(0.5)
    gate.set()
    await asyncio.gather(*tasks)
    for c in conns:
        c.close()
    return latencies, statuses


async def post_throughput(base: str, token: str, n: int, concurrency: int = 32) -> tuple[float, Counter[str]]:
    statuses: Counter[str] = Counter()
    body = json.dumps({"config_text": tiny_config(steps=2), "tags": ["bench"]}).encode()
    conns = [RawConnection(base) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in conns))

    async def worker(conn: RawConnection, todo: Any, timed: bool) -> None:
        for i in todo:  # one iterator shared by all connections: each request is sent once
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"tp-{i}"}
            status = await conn.request("POST", "/api/v1/runs", headers, body)
            if timed:
                statuses[str(status)] += 1

    warm_up = iter(range(-50, 0))  # connections, caches: not timed
    await asyncio.gather(*(worker(c, warm_up, False) for c in conns))
    t0 = time.perf_counter()
    timed = iter(range(n))
    await asyncio.gather(*(worker(c, timed, True) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return elapsed, statuses


async def scenario(base: str, api_pid: int, tokens: list[str], args: argparse.Namespace) -> None:
    ctx = multiprocessing.get_context("spawn")
    stop_probe = ctx.Event()
    results, sender = ctx.Pipe(duplex=False)
    probe = ctx.Process(target=probe_healthz, args=(base, stop_probe, sender), daemon=True)
    probe.start()
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {tokens[0]}"}, timeout=TIMEOUT_S
    ) as c:
        run_ids = [
            (
                await c.post("/api/v1/runs", json={"config_text": tiny_config(), "name": f"watched-{i}"})
            ).json()["id"]
            for i in range(10)
        ]

    stop_streams = asyncio.Event()
    t0 = time.perf_counter()
    stream_tasks, streams = await open_streams(base, tokens, run_ids, args.streams, stop_streams)
    print(f"SSE streams: {dict(streams)} (all open after {time.perf_counter() - t0:.1f} s)")
    gets = await timed_gets(base, tokens[1], 50)
    print(
        f"GET /runs?limit=20 with {streams['open']} streams open: p50 {statistics.median(gets) * 1000:.0f} ms, "
        f"max {max(gets) * 1000:.0f} ms (50 sequential requests)"
    )

    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    cpu0, client0 = cpu_seconds(api_pid), time.process_time()
    latencies, statuses = await burst(base, tokens, run_ids, args.burst)
    wall = time.perf_counter() - t0
    burst_cpu, client_cpu = cpu_seconds(api_pid) - cpu0, time.process_time() - client0
    five = sum(n for s, n in statuses.items() if s.isdigit() and int(s) >= 500)
    print(
        f"burst of {args.burst} mixed requests with {streams['open']} streams open: "
        f"p50 {pct(latencies, 0.5) * 1000:.0f} ms, p99 {pct(latencies, 0.99) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms; 5xx {five}, time-outs {statuses['timeout']}; "
        f"statuses {dict(sorted(statuses.items()))}; {wall:.1f} s incl. opening the connections; "
        f"load average {load0:.2f} → {os.getloadavg()[0]:.2f}"
    )
    print(
        f"API CPU during the burst: {burst_cpu:.1f} s for {args.burst} requests, "
        f"{burst_cpu * 1000 / args.burst:.1f} ms each: the burst needs ≥ {burst_cpu:.1f} s of one core "
        f"(the client used {client_cpu:.1f} s)"
    )
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {tokens[0]}"}) as c:
        # per API process: each scrape is answered by one of them
        shared = [
            ln
            for ln in (await c.get("/api/v1/metrics")).text.splitlines()
            if ln.startswith("grpolab_coalesced")
        ]
    print(f"coalesced reads (one API process): {'; '.join(shared)}")
    stop_streams.set()
    await asyncio.gather(*stream_tasks, return_exceptions=True)
    print(f"streams still healthy when closed: {streams['open']} of {args.streams}")

    cpu0 = cpu_seconds(api_pid)
    elapsed, post_statuses = await post_throughput(base, tokens[2], args.posts)
    cpu = cpu_seconds(api_pid) - cpu0
    print(
        f"POST /runs: {args.posts / elapsed:.0f} req/s ({args.posts} requests, 32 at a time, statuses "
        f"{dict(post_statuses)}); API CPU {cpu * 1000 / (args.posts + 50):.1f} ms per POST "
        f"(≈ {(args.posts + 50) / cpu:.0f} req/s per API core)"
    )
    stop_probe.set()
    latencies, failures = results.recv()
    probe.join(10)
    print(
        f"/healthz throughout (separate process): {len(latencies)} probes, max {max(latencies) * 1000:.0f} ms, "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, not 200: {failures or 0}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--burst", type=int, default=1000, help="simultaneous mixed requests (default 1000)")
    ap.add_argument("--streams", type=int, default=200, help="SSE streams held open (default 200)")
    ap.add_argument("--posts", type=int, default=1000, help="POSTs for the throughput figure (default 1000)")
    ap.add_argument("--api-workers", type=int, default=1, help="uvicorn processes of the API (default 1)")
    ap.add_argument(
        "--api-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the API processes, e.g. GRPOLAB_API_THREADS=8 (repeatable; docs/service.md, Sizing)",
    )
    args = ap.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.api_env if "=" in kv)

    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # client and API each hold ~1,200 sockets
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    work = Path(tempfile.mkdtemp(prefix="grpolab-burst-"))
    db = FreshDatabase()
    redis_srv = RedisServer(work)
    env = service_env(db.url, redis_srv.url, work / "data", **extra)
    api, base = start_api(env, work / "api.log", "--workers", str(args.api_workers))
    try:
        tokens = [make_token(db.url, f"user-{n}") for n in range(USERS)]
        print(
            f"PostgreSQL + Redis, {args.api_workers} API process(es) {extra or ''}; cores: {os.cpu_count()}; load average before: {os.getloadavg()}"
        )
        asyncio.run(scenario(base, api.pid, tokens, args))
        print(f"load average after: {os.getloadavg()}")
        errors = [ln for ln in api.output().splitlines() if "Traceback" in ln or "ERROR" in ln]
        print(f"API log: {len(errors)} error lines")
    finally:
        api.stop()
        redis_srv.stop()
        db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
