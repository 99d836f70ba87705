"""A real `grpolab worker` process registers itself, heartbeats, shows the run it works on, and marks itself
gone when it stops; a queue it does not serve gives runs a waiting reason (real API process, PostgreSQL, Redis)."""

from __future__ import annotations

from typing import Any

import pytest
from infra import tiny_config, wait_for, wait_status

from worker.registry import visible_gpus

pytestmark = [pytest.mark.services]

GPU_CONFIG = tiny_config(steps=2) + "  gpus: 1\n"  # appended under `resources:`


def worker_row(stack: Any, pid: int) -> dict[str, Any] | None:
    items = stack.client.get("/api/v1/workers").json()["items"]
    return next((w for w in items if w["info"].get("pid") == pid), None)


def test_real_worker_registers_heartbeats_runs_and_stops(stack) -> None:
    worker = stack.start_worker("cpu")
    row = wait_for(
        lambda: worker_row(stack, worker.pid), 60, f"worker never registered:\n{worker.output()[-2000:]}"
    )
    assert row["alive"] is True and row["queues"] == ["cpu"] and row["executor"] == "local"
    assert row["name"].startswith("grpolab-cpu-") and row["gpus"] == visible_gpus()
    first_beat = row["heartbeat_at"]
    wait_for(
        lambda: worker_row(stack, worker.pid)["heartbeat_at"] > first_beat, 10, "no heartbeat after 10 s"
    )

    gpu_run = stack.submit(GPU_CONFIG)
    assert gpu_run["waiting_reason"] and "'gpu'" in gpu_run["waiting_reason"]
    assert gpu_run["warnings"] == [gpu_run["waiting_reason"]]
    cpu_run = stack.submit(tiny_config(steps=100_000, every=0))
    assert cpu_run["warnings"] == [] and cpu_run["waiting_reason"] is None

    # the run it claimed is its current run (runs.worker is the Celery node name the row is keyed by)
    wait_for(lambda: worker_row(stack, worker.pid)["current_run"] == cpu_run["id"], 120, "run never started")
    assert stack.client.post(f"/api/v1/runs/{cpu_run['id']}/cancel").status_code == 200
    wait_status(stack.client, cpu_run["id"], {"cancelled"}, 60)
    assert worker_row(stack, worker.pid)["current_run"] is None

    # a worker that shuts down is listed as gone at once, and the cpu queue now has no one
    assert worker.stop() == 0
    row = worker_row(stack, worker.pid)
    assert row is not None and row["alive"] is False and row["info"]["stopped_at"]
    late = stack.submit(tiny_config(steps=2))
    assert late["warnings"] == [
        "no live worker consumes queue 'cpu'; start one with `grpolab worker --queues cpu`"
    ]
    stack.workers.remove(worker)
