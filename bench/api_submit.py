"""Benchmark the service on PostgreSQL + Redis: POST /runs throughput, submit→running latency on an idle worker,
and the resident memory of the API and of an idle worker.

    .venv/bin/python bench/api_submit.py [--requests 1000] [--concurrency 32] [--latency-samples 20]

Starts its own fresh PostgreSQL database (127.0.0.1:5432, user postgres), a private redis-server, one API
process (uvicorn, 1 process) and one Celery worker process; removes them afterwards. Prints figures, asserts
nothing. The client shares the machine's cores with the server: note the load average it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "service"))
from infra import FreshDatabase, Proc, RedisServer, make_token, service_env, start_api, tiny_config, wait_for


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far (load-independent cost)."""
    import subprocess

    pids = [
        str(pid),
        *subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split(),
    ]
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def api_rss(pid: int) -> float:
    """RSS of the API process plus its uvicorn worker processes (when --api-workers > 1)."""
    import subprocess

    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return rss_mib(pid) + sum(rss_mib(int(c)) for c in children if Path(f"/proc/{c}").exists())


async def burst(base: str, token: str, n: int, concurrency: int, body: dict) -> tuple[float, list[int]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    statuses: list[int] = []
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60
    ) as client:

        async def one(i: int) -> None:
            async with sem:
                r = await client.post(
                    "/api/v1/runs", json=body, headers={"Idempotency-Key": f"bench-{i}-{time.time_ns()}"}
                )
                statuses.append(r.status_code)

        await asyncio.gather(*(one(i) for i in range(min(50, n))))  # warm-up: connections, caches
        statuses.clear()
        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.perf_counter() - t0, statuses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency-samples", type=int, default=20)
    ap.add_argument(
        "--embedded", action="store_true", help="SQLite + SQLite broker instead of PostgreSQL + Redis"
    )
    ap.add_argument("--api-workers", type=int, default=1, help="uvicorn processes of the API (default 1)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="grpolab-bench-"))
    db = None if args.embedded else FreshDatabase()
    redis_srv = None if args.embedded else RedisServer(work)
    db_url = db.url if db else f"sqlite:///{work / 'data' / 'grpolab.db'}"
    env = service_env(
        db.url if db else "", redis_srv.url if redis_srv else "", work / "data", GRPOLAB_CANCEL_GRACE_S="0.5"
    )
    print("mode:", "embedded (SQLite + SQLite broker)" if args.embedded else "PostgreSQL + Redis")
    api, base = start_api(env, work / "api.log", "--workers", str(args.api_workers))
    token = make_token(db_url)
    worker: Proc | None = None
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
        body = {"config_text": tiny_config(steps=2), "tags": ["bench"]}
        cpu0 = cpu_seconds(api.pid)
        elapsed, statuses = asyncio.run(burst(base, token, args.requests, args.concurrency, body))
        cpu_ms = (cpu_seconds(api.pid) - cpu0) * 1000 / (args.requests + min(50, args.requests))
        bad = [s for s in statuses if s != 201]
        print(
            f"POST /runs throughput: {args.requests / elapsed:.0f} req/s "
            f"({args.requests} requests, concurrency {args.concurrency}, {len(bad)} not 201)"
        )
        print(
            f"API CPU per POST /runs: {cpu_ms:.1f} ms (≈ {1000 / cpu_ms:.0f} req/s per free core; CPU time, less load-sensitive than throughput)"
        )
        print(f"API RSS after the burst: {api_rss(api.pid):.0f} MiB (all its processes)")

        # the burst left runs queued: cancel them, then measure with an empty queue and an idle worker
        client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        import redis

        if redis_srv:
            redis.Redis(port=redis_srv.port).delete("cpu", "gpu")
        from sqlalchemy import text

        from service.db.session import get_engine

        with get_engine(db_url).begin() as conn:
            conn.execute(text("UPDATE runs SET status = 'cancelled' WHERE status = 'queued'"))
        if args.embedded:  # drop the burst's messages from the SQLite broker
            with get_engine(f"sqlite:///{work / 'data' / 'broker.db'}").begin() as conn:
                conn.execute(text("DELETE FROM kombu_message"))

        worker = Proc(["worker", "--queues", "cpu", "--loglevel", "INFO"], env, work / "worker.log")
        wait_for(lambda: "ready." in worker.output(), 60, "worker not ready")
        time.sleep(2)
        idle_rss = rss_mib(worker.pid)
        torch_loaded = "libtorch" in Path(f"/proc/{worker.pid}/maps").read_text()
        print(f"idle worker RSS: {idle_rss:.0f} MiB (torch imported: {'yes' if torch_loaded else 'no'})")

        latencies = []
        for _ in range(args.latency_samples):
            run = client.post(
                "/api/v1/runs", json={"config_text": tiny_config(steps=100_000, every=0)}
            ).json()
            rid = run["id"]
            r = wait_for(lambda rid=rid: _started(client, rid), 60, "not started", every=0.02)
            from datetime import datetime

            started = datetime.fromisoformat(r["started_at"])
            created = datetime.fromisoformat(r["created_at"])
            latencies.append((started - created).total_seconds() * 1000)
            client.post(f"/api/v1/runs/{rid}/cancel")
            wait_for(lambda rid=rid: _status(client, rid) != "running", 60, "not stopped")
            time.sleep(0.3)  # the worker goes back to waiting on the queue
        latencies.sort()
        p90 = latencies[int(0.9 * (len(latencies) - 1))]
        print(
            f"submit→running latency (idle worker, created_at→started_at): p50 {statistics.median(latencies):.0f} ms,"
            f" p90 {p90:.0f} ms, n={len(latencies)}"
        )
        print(
            f"worker RSS after {len(latencies)} runs: {rss_mib(worker.pid):.0f} MiB "
            f"(torch imported: {'yes' if 'libtorch' in Path(f'/proc/{worker.pid}/maps').read_text() else 'no'})"
        )
        print(f"API RSS at the end: {api_rss(api.pid):.0f} MiB (all its processes)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if worker:
            worker.stop()
        api.stop()
        if redis_srv:
            redis_srv.stop()
        if db:
            db.drop()
    return 0


def _status(client: httpx.Client, run_id: str) -> str:
    return str(client.get(f"/api/v1/runs/{run_id}").json()["status"])


def _started(client: httpx.Client, run_id: str) -> dict | None:
    r = client.get(f"/api/v1/runs/{run_id}").json()
    return r if r["status"] != "queued" else None


if __name__ == "__main__":
    sys.exit(main())
