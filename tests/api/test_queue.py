"""The queue as users see it: a run on a queue no live worker serves says so at once (stored reason + submit
warning), a worker coming or going updates that reason, GET /queue orders runs by enqueue time with positions,
GET /workers derives alive and the current run. Workers register through the real registry code
(worker.registry.Registration) against the real PostgreSQL database; tests/worker/test_registry.py starts a real
Celery worker process for the same path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from infra import tiny_config, wait_for
from sqlalchemy import text, update

from service import queue_status
from service.db.lifecycle import transition
from service.db.models import RunStatus, WorkerRecord, utcnow
from service.db.session import session_scope
from worker.registry import Registration

GPU_CONFIG = tiny_config(steps=2) + "  gpus: 1\n"  # appended under `resources:`
GPU_REASON = "no live worker consumes queue 'gpu'; start one with `grpolab worker --queues gpu`"


@pytest.fixture
def queue_client(settings, client):  # type: ignore[no-untyped-def]
    from service.db.session import get_engine

    with get_engine(settings.db_url).begin() as conn:
        conn.execute(text("TRUNCATE workers CASCADE"))
    queue_status._served_until.clear()  # the submit path's one-second memory of a served queue
    return client


def submit(client: Any, config_text: str) -> dict[str, Any]:
    r = client.post("/api/v1/runs", json={"config_text": config_text})
    assert r.status_code == 201, r.text
    return r.json()


def queue_of(client: Any, name: str) -> dict[str, Any]:
    r = client.get("/api/v1/queue")
    assert r.status_code == 200, r.text
    return next(q for q in r.json()["queues"] if q["name"] == name)


def test_gpu_run_without_gpu_worker_gets_reason_and_warning_at_once(settings, queue_client) -> None:
    client = queue_client
    Registration(settings, "cpu-1@test", ["cpu"]).register()  # a live worker, but not on the gpu queue
    run = submit(client, GPU_CONFIG)
    assert run["queue"] == "gpu"
    assert run["warnings"] == [GPU_REASON]
    assert run["waiting_reason"] == GPU_REASON
    assert client.get(f"/api/v1/runs/{run['id']}").json()["waiting_reason"] == GPU_REASON
    listed = client.get("/api/v1/runs").json()["items"]
    assert [r["waiting_reason"] for r in listed if r["id"] == run["id"]] == [GPU_REASON]
    gpu = queue_of(client, "gpu")
    assert gpu["depth"] == 1 and gpu["live_workers"] == []
    assert [(r["id"], r["position"], r["waiting_reason"]) for r in gpu["runs"]] == [
        (run["id"], 1, GPU_REASON)
    ]

    # a gpu worker comes: its registration clears the reason on the run itself
    gpu_worker = Registration(settings, "gpu-1@test", ["gpu"])
    gpu_worker.register()
    assert client.get(f"/api/v1/runs/{run['id']}").json()["waiting_reason"] is None
    assert queue_of(client, "gpu")["live_workers"] == ["gpu-1@test"]
    assert submit(client, GPU_CONFIG)["warnings"] == []  # the next submit knows at once, too

    # ...and goes: a stopped worker no longer counts, and the reason is back at once
    gpu_worker.stop()
    assert client.get(f"/api/v1/runs/{run['id']}").json()["waiting_reason"] == GPU_REASON
    workers = {w["name"]: w for w in client.get("/api/v1/workers").json()["items"]}
    assert workers["gpu-1@test"]["alive"] is False and workers["cpu-1@test"]["alive"] is True


def test_silent_worker_counts_as_gone_after_the_timeout(settings, queue_client) -> None:
    client = queue_client
    Registration(settings, "gpu-2@test", ["gpu"]).register()
    run = submit(client, GPU_CONFIG)
    assert run["warnings"] == [] and run["waiting_reason"] is None
    # the worker was killed -9: no shutdown, only its heartbeat ages past heartbeat_timeout_s
    old = utcnow() - timedelta(seconds=settings.heartbeat_timeout_s + 1)
    with session_scope(settings.db_url) as s:
        s.execute(update(WorkerRecord).where(WorkerRecord.name == "gpu-2@test").values(heartbeat_at=old))
    gpu = queue_of(client, "gpu")  # GET /queue refreshes the stored reasons before answering
    assert gpu["live_workers"] == [] and gpu["runs"][0]["waiting_reason"] == GPU_REASON
    assert client.get(f"/api/v1/runs/{run['id']}").json()["waiting_reason"] == GPU_REASON
    (worker,) = client.get("/api/v1/workers").json()["items"]
    assert worker["alive"] is False and worker["heartbeat_age_s"] >= settings.heartbeat_timeout_s


def test_live_worker_no_reason_and_positions_in_enqueue_order(settings, queue_client) -> None:
    client = queue_client
    Registration(settings, "cpu-2@test", ["cpu"]).register()
    runs = [submit(client, tiny_config(steps=2)) for _ in range(3)]
    assert all(r["warnings"] == [] and r["waiting_reason"] is None for r in runs)
    cpu = queue_of(client, "cpu")
    assert (
        cpu["depth"] == 3 and cpu["live_workers"] == ["cpu-2@test"] and cpu["idle_workers"] == ["cpu-2@test"]
    )
    assert [(r["id"], r["position"]) for r in cpu["runs"]] == [(r["id"], i) for i, r in enumerate(runs, 1)]
    reasons = [r["waiting_reason"] for r in cpu["runs"]]
    assert reasons[0].startswith("next: an idle worker")
    assert reasons[2] == "2 run(s) ahead of it on queue 'cpu' (1 live worker(s), 1 idle)"

    # the worker takes the first run: it is its current run, the line moves up, the worker is busy
    with session_scope(settings.db_url) as s:
        assert transition(s, runs[0]["id"], RunStatus.RUNNING, "claimed", worker="cpu-2@test")
    (worker,) = client.get("/api/v1/workers").json()["items"]
    assert worker["current_run"] == runs[0]["id"] and worker["alive"] is True
    cpu = queue_of(client, "cpu")
    assert [r["id"] for r in cpu["runs"]] == [runs[1]["id"], runs[2]["id"]]
    assert cpu["idle_workers"] == []
    assert cpu["runs"][0]["waiting_reason"] == (
        "next: starts when a worker on queue 'cpu' finishes its run (1 live, none idle)"
    )
    assert (
        cpu["runs"][1]["waiting_reason"] == "1 run(s) ahead of it on queue 'cpu' (1 live worker(s), 0 idle)"
    )


def test_workers_report_queues_gpus_and_executor(settings, queue_client, monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    ray_worker = settings.model_copy(update={"executor": "ray"})  # `grpolab worker --executor ray`
    Registration(ray_worker, "gpu-3@test", ["gpu", "cpu"]).register()
    (worker,) = queue_client.get("/api/v1/workers").json()["items"]
    assert worker["queues"] == ["cpu", "gpu"] and worker["gpus"] == 2 and worker["executor"] == "ray"
    assert worker["current_run"] is None and worker["info"]["pid"] > 0


def test_queue_and_workers_need_a_token(queue_client) -> None:
    for path in ("/api/v1/queue", "/api/v1/workers"):
        assert queue_client.get(path, headers={"Authorization": ""}).status_code == 401
    r = queue_client.get("/api/v1/queue?limit=0")
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "limit"


def test_api_refreshes_reasons_when_the_last_worker_dies(settings, queue_client) -> None:
    """No worker left to refresh anything: the API's own refresher (every half heartbeat timeout) gives the
    queued run its reason without anyone opening the queue page."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    quick = settings.model_copy(update={"heartbeat_timeout_s": 1.0})
    Registration(quick, "gpu-4@test", ["gpu"]).register()  # then killed -9: it never beats again
    with TestClient(create_app(quick)) as client:
        client.headers["Authorization"] = queue_client.headers["Authorization"]
        run = submit(client, GPU_CONFIG)
        wait_for(
            lambda: client.get(f"/api/v1/runs/{run['id']}").json()["waiting_reason"] == GPU_REASON,
            15,
            "the API never refreshed the waiting reason",
        )
