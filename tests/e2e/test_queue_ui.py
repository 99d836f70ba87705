"""The queue page in real Chromium against a real `grpolab up` (embedded: cpu workers only): a worker is listed
alive, a run asking for a GPU waits on the `gpu` queue with the reason shown on the queue page and the run page."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.e2e.conftest import Server, shot

pytestmark = pytest.mark.e2e

GPU_RUN = """algorithm:
  group_size: 4
rollout:
  batch_size: 8
run:
  steps: 2
resources:
  gpus: 1
"""
REASON = "no live worker consumes queue 'gpu'; start one with `grpolab worker --queues gpu`"


def test_queue_page_shows_workers_and_the_waiting_reason(signed_in: Any, server: Server) -> None:
    page = signed_in
    run = server.api("POST", "/runs", {"name": "needs a gpu", "config_text": GPU_RUN})
    try:
        assert run["queue"] == "gpu" and run["warnings"] == [REASON]
        if shutil.which("nvidia-smi") is None:  # `grpolab up` started a cpu worker only, and said so
            banner = (server.data_dir.parent / "up.log").read_text()
            assert "worker queues cpu (runs with resources.gpus > 0 wait: see /queue)" in banner

        page.get_by_role("link", name="Queue").click()
        page.wait_for_url("**/queue")
        worker = page.locator("[data-testid=workers] tbody tr[data-alive=true]").first
        worker.wait_for()
        assert "cpu" in worker.inner_text() and "alive" in worker.inner_text()

        gpu = page.locator("section[data-queue=gpu]")
        row = gpu.locator(f"tr[data-run-id='{run['id']}']")
        row.wait_for()
        assert row.locator("td").first.inner_text() == "1"  # its position
        assert row.locator(".waiting-reason").inner_text() == REASON
        assert "No live worker consumes this queue" in gpu.get_by_role("status").inner_text()
        shot(page, "queue-gpu-waiting")

        row.get_by_role("link", name="needs a gpu").click()
        notice = page.get_by_test_id("waiting-reason")
        notice.wait_for()
        page.wait_for_function(
            "() => document.querySelector('[data-testid=waiting-reason]').textContent.includes('position 1 of 1')"
        )
        assert REASON in notice.inner_text() and "position 1 of 1 on queue gpu" in notice.inner_text()
        shot(page, "run-waiting-reason")
    finally:
        server.api("POST", f"/runs/{run['id']}/cancel")  # the session's other tests share this server
