"""Embedded mode: `grpolab up` (SQLite + SQLite broker, one API and one worker process) driven by the CLI."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from infra import (
    ROOT,
    FreshDatabase,
    Proc,
    RedisServer,
    free_port,
    postgres_available,
    service_env,
    tiny_config,
    wait_for,
    wait_status,
)

pytestmark = pytest.mark.slow


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "grpolab", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(params=["embedded", "postgres+redis"])
def mode(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(name, DATABASE_URL, BROKER_URL): empty URLs mean the embedded default."""
    if request.param == "embedded":
        yield request.param, "", ""
        return
    why = postgres_available()
    if why:
        pytest.skip(why)
    db, redis_srv = FreshDatabase(), RedisServer(tmp_path)
    yield request.param, db.url, redis_srv.url
    redis_srv.stop()
    db.drop()


def test_grpolab_up_runs_a_tiny_config_end_to_end(tmp_path: Path, mode: tuple[str, str, str]) -> None:
    name, db_url, broker_url = mode
    data = tmp_path / "data"
    port = free_port()
    env = service_env(db_url, broker_url, data)
    up = Proc(["up", "--data-dir", str(data), "--port", str(port)], env, tmp_path / "up.log")
    try:
        wait_for(lambda: "GRPO Lab is up" in up.output() or up.proc.poll() is not None, 120, "up not ready")
        assert up.proc.poll() is None, up.output()
        token_file = data / "first-token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert f"http://127.0.0.1:{port}/#token={token}" in up.output()
        embedded = (data / "grpolab.db").is_file() and (data / "broker.db").is_file()
        assert embedded == (name == "embedded")
        assert ("embedded (SQLite)" in up.output()) == (name == "embedded")

        cenv = {**env, "GRPOLAB_URL": f"http://127.0.0.1:{port}", "GRPOLAB_TOKEN": token}
        seed = (ROOT / "examples" / "seed-buggy.yaml").resolve()
        refused = cli("submit", str(seed), env=cenv)
        assert refused.returncode == 1 and "GL001" in refused.stderr and "fix:" in refused.stderr

        cfg = tmp_path / "tiny.yaml"
        cfg.write_text(tiny_config(steps=3))
        done = cli("submit", str(cfg), "--wait", "--tag", "embedded", env=cenv)
        assert done.returncode == 0, done.stdout + done.stderr
        run_id = done.stdout.strip().splitlines()[0]
        assert "run " + run_id + " succeeded" in done.stderr
        assert "succeeded step 3/3" in done.stderr  # --wait in a log, not a terminal: plain progress lines

        listed = cli("runs", "--tag", "embedded", env=cenv)
        assert run_id in listed.stdout and "succeeded" in listed.stdout and "3/3" in listed.stdout
        logs = cli("logs", run_id, env=cenv)
        assert logs.returncode == 0 and logs.stdout.strip()
        assert cli("cancel", run_id, env=cenv).returncode == 1  # finished: 409, said clearly
        metrics = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/runs/{run_id}/metrics",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["items"]
        assert [p["step"] for p in metrics] == [1, 2, 3]
        assert all("rollout/reward_mean" in p["metrics"] for p in metrics)
        assert cli("runs", env={**cenv, "GRPOLAB_TOKEN": "glab_nope"}).returncode == 1
    finally:
        rc = up.stop(signal.SIGINT)  # what Ctrl-C sends
    assert rc == 0, up.output()[-2000:]
    out = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True)
    assert out.stdout.strip() == "", "API process left behind"


def test_token_command(tmp_path: Path) -> None:
    env = service_env("", "", tmp_path)
    created = cli("token", "create", "alice", "--data-dir", str(tmp_path), env=env)
    assert created.returncode == 0 and created.stdout.startswith("glab_")
    listed = cli("token", "list", "--data-dir", str(tmp_path), env=env)
    assert "alice" in listed.stdout and "active" in listed.stdout
    assert created.stdout.strip() not in listed.stdout  # only the hash is stored
    assert cli("token", "revoke", "alice", "--data-dir", str(tmp_path), env=env).returncode == 0
    assert "revoked" in cli("token", "list", "--data-dir", str(tmp_path), env=env).stdout


def test_up_replaces_a_killed_worker_and_the_run_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    up = Proc(
        ["up", "--data-dir", str(data), "--port", str(port)], service_env("", "", data), tmp_path / "up.log"
    )
    try:
        wait_for(lambda: "GRPO Lab is up" in up.output() or up.proc.poll() is not None, 120, "up not ready")
        token = (data / "first-token").read_text().strip()
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
        )
        run = client.post("/api/v1/runs", json={"config_text": tiny_config(steps=150, every=2)}).json()
        wait_for(lambda: client.get(f"/api/v1/runs/{run['id']}").json()["step"] >= 4, 120, "no progress")
        children = subprocess.run(["pgrep", "-P", str(up.pid)], capture_output=True, text=True).stdout.split()
        worker_pid = next(int(p) for p in children if "celeryd" in Path(f"/proc/{p}/cmdline").read_text())
        os.kill(worker_pid, signal.SIGKILL)
        wait_for(lambda: "starting a new one" in up.output(), 30, "worker not replaced")
        done = wait_status(client, run["id"], {"succeeded", "failed"}, 180)
        assert done["status"] == "succeeded", done
        assert done["attempts"] == 2
        assert [p["step"] for p in client.get(f"/api/v1/runs/{run['id']}/metrics").json()["items"]] == list(
            range(1, 151)
        )
    finally:
        up.stop(signal.SIGINT)
