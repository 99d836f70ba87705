"""A real `grpolab worker` process registers itself, heartbeats, shows the run it works on, sends the webhook when
it ends a run, and marks itself gone when it stops; a queue no one serves then gives submits (API and CLI) a
warning. Real API and worker processes, PostgreSQL, Redis."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from infra import tiny_config, wait_for, wait_status

from worker.registry import visible_gpus

pytestmark = [pytest.mark.services]

GPU_CONFIG = tiny_config(steps=2) + "  gpus: 1\n"  # appended under `resources:`


def receiving(posts: list[dict[str, Any]]) -> ThreadingHTTPServer:
    """A real HTTP server on 127.0.0.1 that appends each POSTed JSON body to `posts`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


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
    # the worker process ends the run (the API only asks it to): its webhook leaves from the worker
    posts: list[dict[str, Any]] = []
    receiver = receiving(posts)
    hook = stack.client.post(
        "/api/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.server_port}/hook"}
    )
    assert hook.status_code == 201, hook.text
    assert stack.client.post(f"/api/v1/runs/{cpu_run['id']}/cancel").status_code == 200
    wait_status(stack.client, cpu_run["id"], {"cancelled"}, 60)
    wait_for(lambda: posts, 20, "the worker sent no webhook")
    assert posts[0]["event"] == "run.cancelled" and posts[0]["run"]["id"] == cpu_run["id"]
    receiver.shutdown()
    assert worker_row(stack, worker.pid)["current_run"] is None

    # a worker that shuts down is listed as gone at once, and the cpu queue now has no one
    assert worker.stop() == 0
    row = worker_row(stack, worker.pid)
    assert row is not None and row["alive"] is False and row["info"]["stopped_at"]
    reason = "no live worker consumes queue 'cpu'; start one with `grpolab worker --queues cpu`"
    late = stack.submit(tiny_config(steps=2))
    assert late["warnings"] == [reason]
    stack.workers.remove(worker)

    # the CLI says it too
    config = stack.workdir / "tiny.yaml"
    config.write_text(tiny_config(steps=2))
    token = stack.client.headers["Authorization"].split()[1]
    env = {**stack.env, "GRPOLAB_URL": stack.base, "GRPOLAB_TOKEN": token}
    cli = subprocess.run(
        [sys.executable, "-m", "grpolab", "submit", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0 and f"warning: {reason}" in cli.stderr, cli.stderr
