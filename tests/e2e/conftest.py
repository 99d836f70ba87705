"""End-to-end fixtures: a real `grpolab up` (embedded mode, temp data dir, free port) and Debian's Chromium.

The server is started once per session, exactly as a user would start it; the token comes from
<data-dir>/first-token. Beside its worker a second `grpolab worker` serves the same data dir, as a user adds one:
the session's tests submit some twenty runs, mostly trainer start-up, and two at a time halves their wait. Chromium is /usr/bin/chromium (browser downloads are impossible here), driven by the
Python `playwright` package. Screenshots go to test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "frontend" / "dist" / "index.html"
CHROMIUM = os.environ.get("GRPOLAB_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]

pytestmark = pytest.mark.e2e


@dataclass
class Server:
    url: str
    token: str
    data_dir: Path

    def api(self, method: str, path: str, body: Any = None) -> Any:
        req = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def wait_status(self, run_id: str, statuses: set[str], timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.api("GET", f"/runs/{run_id}")
            if run["status"] in statuses:
                return run
            time.sleep(0.5)
        raise AssertionError(f"run {run_id} still {run.get('status')} after {timeout}s: {run.get('error')}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not DIST.is_file():
        pytest.fail("the web UI is not built (frontend/dist/index.html missing): run `make frontend` first")
    data_dir = tmp_path_factory.mktemp("grpolab-e2e")
    port = _free_port()
    grpolab = Path(sys.executable).with_name("grpolab")
    cmd = [str(grpolab), "up", "--port", str(port), "--data-dir", str(data_dir / "data")]
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "BROKER_URL"}}
    log = open(data_dir / "up.log", "wb")  # noqa: SIM115 - kept open for the server's lifetime
    # Own session so teardown can stop the API and its worker (children) together, by our process group id.
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    procs = [proc]
    url = f"http://127.0.0.1:{port}"
    token_file = data_dir / "data" / "first-token"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"grpolab up exited with {proc.returncode}:\n{(data_dir / 'up.log').read_text()[-3000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"grpolab up not ready in 120 s:\n{(data_dir / 'up.log').read_text()[-3000:]}")
            if token_file.is_file() and b"GRPO Lab is up" in (data_dir / "up.log").read_bytes():
                break
            time.sleep(0.3)
        worker_cmd = [str(grpolab), "worker", "--loglevel", "WARNING", "--data-dir", str(data_dir / "data")]
        worker_env = {**env, "HF_HOME": env.get("HF_HOME", str(data_dir / "data" / "hf"))}  # as `up` sets it
        procs.append(
            subprocess.Popen(
                worker_cmd,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=worker_env,
                start_new_session=True,
            )
        )
        yield Server(url=url, token=token_file.read_text().strip(), data_dir=data_dir / "data")
    finally:
        running = [p for p in procs if p.poll() is None]
        for p in running:  # in parallel: each stops its worker (and `up` its API) after a warm shutdown
            os.killpg(p.pid, signal.SIGTERM)
        for p in running:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} not found: install it with `apt-get install -y chromium` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, server: Server) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light")
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture()
def signed_in(page: Any, server: Server) -> Any:
    """A page signed in through the link `grpolab up` prints (token in the URL fragment)."""
    page.goto(f"{server.url}/#token={server.token}")
    page.get_by_test_id("me").wait_for()
    return page


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
