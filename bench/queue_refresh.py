"""What knowing the queue costs on PostgreSQL: the registry's heartbeat refresh, the submit path's lookup and
GET /queue's overview, with many runs queued and a queue nobody serves.

    .venv/bin/python bench/queue_refresh.py [--runs 20000] [--queued 2000] [--workers 8]

Starts a fresh PostgreSQL database (127.0.0.1:5432, user postgres), fills it with `--runs` finished runs plus
`--queued` queued ones (half on `cpu`, half on `gpu`), registers `--workers` cpu workers (none on gpu), then times
each call (median of 20, in ms). Prints figures, asserts nothing; the machine's other load shows in them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "service"))  # infra

from infra import FreshDatabase
from sqlalchemy import insert

from service.db.models import Run, utcnow
from service.db.session import get_sessionmaker, migrate, session_scope
from service.queue_status import queue_overview, refresh_waiting_reasons, waiting_reason_for
from service.settings import Settings
from worker.registry import Registration


def fill(settings: Settings, finished: int, queued: int) -> None:
    now = utcnow()

    def row(i: int, status: str, queue: str) -> dict[str, Any]:
        return {
            "id": f"r{i:011d}",
            "name": f"run {i}",
            "status": status,
            "config": {},
            "config_text": "",
            "queue": queue,
            "output_dir": f"/tmp/r{i}",
            "created_at": now,
            "enqueued_at": now,
        }

    rows = [row(i, "succeeded", "cpu") for i in range(finished)]
    rows += [row(finished + i, "queued", "gpu" if i % 2 else "cpu") for i in range(queued)]
    with session_scope(settings.db_url) as s:
        for start in range(0, len(rows), 5000):
            s.execute(insert(Run), rows[start : start + 5000])


def timed(label: str, fn: Callable[[], object], repeat: int = 20) -> None:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    print(f"{label:<58} {statistics.median(times):7.2f} ms (min {min(times):.2f})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20_000)
    ap.add_argument("--queued", type=int, default=2_000)
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()
    db = FreshDatabase()
    try:
        migrate(db.url)
        settings = Settings(database_url=db.url)
        fill(settings, args.runs, args.queued)
        for n in range(args.workers):
            Registration(settings, f"bench-cpu-{n}@host", ["cpu"]).register()
        print(
            f"{args.runs:,} finished runs, {args.queued:,} queued (half on gpu, unserved), {args.workers} workers"
        )

        def refresh() -> None:
            with session_scope(settings.db_url) as s:
                refresh_waiting_reasons(s, settings)

        held = get_sessionmaker(settings.db_url)()  # the submit's own session, already connected

        def submit_lookup() -> None:
            waiting_reason_for(held, settings, "gpu")

        def overview() -> None:
            with session_scope(settings.db_url) as s:
                queue_overview(s, settings, limit=200)

        refresh()  # the first one writes the gpu runs' reasons
        timed("refresh, nothing changed (per worker every timeout / 2)", refresh)
        timed("submit lookup (the query POST /runs adds, in its session)", submit_lookup)
        held.close()
        timed("GET /queue overview (limit 200 per queue)", overview)
        beat = Registration(settings, "bench-cpu-0@host", ["cpu"])
        timed("a heartbeat without a refresh (the row update)", lambda: beat.beat(refresh=False))
    finally:
        db.drop()


if __name__ == "__main__":
    main()
