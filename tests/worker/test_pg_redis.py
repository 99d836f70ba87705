"""Acceptance on PostgreSQL + Redis with real API and Celery worker processes running the real pipeline."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from infra import tiny_config, wait_for, wait_status

pytestmark = [pytest.mark.services, pytest.mark.slow]

# the seed's double normalization (examples/seed-buggy.yaml) at the tiny size
SEED_TINY = tiny_config(steps=3).replace(
    "algorithm:\n", "algorithm:\n  estimator: grpo\n  norm_return: true\n"
)
SEED_ALLOWED = (
    SEED_TINY
    + "lint:\n  allow:\n    - rule: GL001\n      reason: ablation of the seed's double normalization\n"
)


def metric_steps(stack, run_id: str) -> list[int]:  # type: ignore[no-untyped-def]
    items = stack.client.get(f"/api/v1/runs/{run_id}/metrics").json()["items"]
    return [p["step"] for p in items]


def children_of(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True)
    return [ln for ln in out.stdout.splitlines() if ln.strip()]


def test_worker_idle_without_torch_then_tiny_run_succeeds(stack) -> None:
    worker = stack.start_worker()
    wait_for(lambda: "ready" in worker.output(), 60, "worker not ready")
    maps = Path(f"/proc/{worker.pid}/maps").read_text()
    assert "libtorch" not in maps  # the idle worker never imported torch

    buggy = stack.client.post("/api/v1/runs", json={"config_text": SEED_TINY})
    assert buggy.status_code == 422 and buggy.json()["detail"]["code"] == "lint_failed"

    run = stack.submit(SEED_ALLOWED, tags=["ablation"])
    done = wait_status(stack.client, run["id"], {"succeeded", "failed"}, 180)
    assert done["status"] == "succeeded", done
    assert metric_steps(stack, run["id"]) == [1, 2, 3]
    assert done["step"] == 3 and len(done["reward_sparkline"]) == 3
    assert done["summary"]["steps"] == 3 and done["summary"]["stopped"] is False
    assert [h["status"] for h in done["history"]] == ["queued", "running", "succeeded"]
    logs = stack.client.get(f"/api/v1/runs/{run['id']}/logs").json()["items"]
    assert logs and [ln["seq"] for ln in logs] == list(
        range(1, len(logs) + 1)
    )  # the trainer's lines, in order
    assert (Path(stack.env["GRPOLAB_DATA_DIR"]) / "runs" / run["id"] / "summary.json").is_file()
    assert "libtorch" not in Path(f"/proc/{worker.pid}/maps").read_text()  # torch lived in the child only


def test_cancel_running_run(stack) -> None:
    if not stack.workers:
        stack.start_worker()
    run = stack.submit(tiny_config(steps=100_000, every=0))
    wait_for(lambda: stack.client.get(f"/api/v1/runs/{run['id']}").json()["step"] >= 2, 120, "no progress")
    r = stack.client.post(f"/api/v1/runs/{run['id']}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"] is True
    done = wait_status(stack.client, run["id"], {"cancelled", "failed", "succeeded"}, 30)
    assert done["status"] == "cancelled", done
    assert done["summary"]["stopped"] is True
    # who asked is in the history, as for a queued run's cancel (ui-review B14)
    me = stack.client.get("/api/v1/me").json()["name"]
    assert done["history"][-1]["reason"] == f"cancelled by {me}", done["history"]
    assert stack.client.post(f"/api/v1/runs/{run['id']}/cancel").status_code == 409


def test_kill9_worker_resumes_from_checkpoint(stack) -> None:
    for w in stack.workers:
        w.stop()
    stack.workers.clear()
    worker = stack.start_worker()
    run = stack.submit(tiny_config(steps=200, every=2))  # long enough to be killed mid-run on a fast machine
    wait_for(lambda: stack.client.get(f"/api/v1/runs/{run['id']}").json()["step"] >= 6, 120, "no progress")
    trainer = children_of(worker.pid)
    assert any("worker.child" in t for t in trainer), trainer
    worker.kill9()
    trainer_pid = int(next(t for t in trainer if "worker.child" in t).split()[0])
    wait_for(lambda: not Path(f"/proc/{trainer_pid}").exists(), 10, "training process outlived its worker")
    assert stack.client.get(f"/api/v1/runs/{run['id']}").json()["status"] == "running"

    stack.start_worker()  # its reaper sees the stale heartbeat and requeues; it then claims and resumes
    done = wait_status(stack.client, run["id"], {"succeeded", "failed"}, 240)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    reasons = [h["reason"] for h in done["history"]]
    assert any("requeued to resume from its last checkpoint" in r for r in reasons), reasons
    assert [h["status"] for h in done["history"]] == ["queued", "running", "queued", "running", "succeeded"]
    logs = [ln["line"] for ln in stack.client.get(f"/api/v1/runs/{run['id']}/logs").json()["items"]]
    assert any("resumed" in line for line in logs), logs  # the pipeline says where it resumed
    assert metric_steps(stack, run["id"]) == list(range(1, 201))


def test_redis_restart_with_queued_runs(stack, redis_srv) -> None:
    for w in stack.workers:
        w.stop()
    stack.workers.clear()
    ids = [stack.submit(tiny_config(steps=2))["id"] for _ in range(3)]
    assert redis_srv.llen("cpu") == 3
    redis_srv.restart()  # no persistence: the three messages are gone
    assert redis_srv.llen("cpu") == 0
    stack.start_worker()  # its reaper re-sends queued runs whose queue is empty
    for run_id in ids:
        assert wait_status(stack.client, run_id, {"succeeded", "failed"}, 180)["status"] == "succeeded"


def test_200_concurrent_submits_with_idempotency_keys(stack) -> None:
    for w in stack.workers:
        w.stop()
    stack.workers.clear()
    before = stack.client.get("/api/v1/runs", params={"limit": 1}).json()["total"]
    body = {"config_text": tiny_config(steps=2), "tags": ["burst"]}

    def post(key: str) -> httpx.Response:
        with httpx.Client(base_url=stack.base, headers=dict(stack.client.headers), timeout=60) as c:
            return c.post("/api/v1/runs", json=body, headers={"Idempotency-Key": key})

    keys = [f"burst-{i}" for i in range(200)] + ["dup"] * 8
    with cf.ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(post, keys))
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    assert all(r.status_code in (200, 201) for r in responses), {r.status_code for r in responses}
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids[:200])) == 200
    assert len(set(ids[200:])) == 1 and ids[200] not in ids[:200]
    listed = stack.client.get("/api/v1/runs", params={"tag": "burst", "limit": 500}).json()
    assert listed["total"] == 201
    assert stack.client.get("/api/v1/runs", params={"limit": 1}).json()["total"] == before + 201
    for run_id in set(ids):  # leave nothing queued for later tests
        stack.client.post(f"/api/v1/runs/{run_id}/cancel")


def test_sigterm_puts_running_run_back_in_queue(stack) -> None:
    worker = stack.start_worker()
    run = stack.submit(tiny_config(steps=100_000, every=5))
    wait_for(lambda: stack.client.get(f"/api/v1/runs/{run['id']}").json()["step"] >= 3, 120, "no progress")
    os.kill(worker.pid, signal.SIGTERM)
    worker.proc.wait(60)
    r = stack.client.get(f"/api/v1/runs/{run['id']}").json()
    assert r["status"] == "queued", r
    assert "shut down" in r["history"][-1]["reason"]
    # the requeued message must not be taken by the worker that is shutting down: one start, one attempt counted
    started = [h["reason"] for h in r["history"] if h["status"] == "running"]
    assert len(started) == 1 and r["attempts"] == 1, r["history"]
    stack.workers.remove(worker)
    stack.client.post(f"/api/v1/runs/{run['id']}/cancel")


def test_a_run_that_crashes_fails_with_its_reason(stack) -> None:
    if not stack.workers:
        stack.start_worker()
    text = tiny_config(steps=2) + "model:\n  path: models/not-there\n"
    run = stack.submit(text)
    done = wait_status(stack.client, run["id"], {"succeeded", "failed"}, 120)
    assert done["status"] == "failed"
    assert done["error"] and "not-there" in done["error"], done["error"]
    assert done["history"][-1]["reason"] == done["error"]
    logs = [ln["line"] for ln in stack.client.get(f"/api/v1/runs/{run['id']}/logs").json()["items"]]
    assert any("Traceback" in line for line in logs)
    retried = stack.client.post(f"/api/v1/runs/{run['id']}/retry").json()
    assert retried["status"] == "queued" and retried["error"] is None and retried["attempts"] == 0
    stack.client.post(f"/api/v1/runs/{run['id']}/cancel")
