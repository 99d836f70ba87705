"""Real infrastructure for the service tests: a fresh PostgreSQL database, a private Redis server, API and
worker processes. Imported by the conftest files of tests/api, tests/worker, tests/ray and tests/service.

`pg` and `redis_srv` are module-scoped fixtures for the conftests that import them (tests/worker, tests/ray);
`ServiceStack` is the API and the workers those modules start; `insert_run` writes a run row straight to the
database for the supervisor and reaper tests (no API)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = os.environ.get("GRPOLAB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

TINY = """\
algorithm:
  group_size: 4
rollout:
  batch_size: 8
optim:
  micro_batch_size: 8
run:
  steps: {steps}
  eval_episodes: 0
  checkpoint_every: {every}
resources:
  cpu_threads: 1
"""


def tiny_config(steps: int = 4, every: int = 1) -> str:
    return TINY.format(steps=steps, every=every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not (for a skip message)."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN}: {exc}"


class FreshDatabase:
    """`grpolab_test_<random>`: created for a test session, dropped after it."""

    def __init__(self) -> None:
        import psycopg

        self.name = f"grpolab_test_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        self.url = f"{base}/{self.name}"

    def drop(self) -> None:
        import psycopg

        from service.db.session import get_engine

        get_engine(self.url).dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class RedisServer:
    """A private redis-server (no persistence), so tests can restart it without disturbing anyone."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server not installed"
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self._ping(), 10, "redis-server did not start")

    def _ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def llen(self, queue: str) -> int:
        import redis

        return int(redis.Redis(port=self.port).llen(queue))


def wait_for(pred: Callable[[], Any], timeout: float, message: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s: {message}")


def service_env(db_url: str, broker_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRPOLAB_")}
    env.update(
        DATABASE_URL=db_url,
        BROKER_URL=broker_url,
        GRPOLAB_DATA_DIR=str(data_dir),
        GRPOLAB_HEARTBEAT_INTERVAL_S="1",
        GRPOLAB_HEARTBEAT_TIMEOUT_S="5",
        GRPOLAB_REAPER_INTERVAL_S="1",
        GRPOLAB_REQUEUE_AFTER_S="2",
        PYTHONUNBUFFERED="1",
        # quotas off: tests and benchmarks send bursts from one token (tests/api/test_quotas.py turns them on)
        GRPOLAB_RATE_LIMIT_PER_S="0",
        GRPOLAB_MAX_QUEUED_RUNS_PER_USER="0",
    )
    env.update(extra)
    if not db_url:
        env.pop("DATABASE_URL")
    if not broker_url:
        env.pop("BROKER_URL")
    return env


class Proc:
    """A `grpolab` subcommand in its own process group, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        self._signalled = False
        self._f = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "grpolab", *args],
            cwd=ROOT,
            env=env,
            stdout=self._f,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def request_stop(self, sig: int = signal.SIGTERM) -> None:
        """Ask it to stop without waiting (stop() then waits): several processes stop in parallel."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self._signalled = True

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            if not self._signalled:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._f.close()
        return int(self.proc.returncode)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_api(env: dict[str, str], log: Path, *extra: str) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(["api", "--port", str(port), *extra], env, log)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.proc.poll() is not None:
            raise AssertionError(f"API exited:\n{proc.output()[-3000:]}")
        try:
            return httpx.get(base + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, 60, "API did not become healthy")
    return proc, base


def make_token(db_url: str, name: str = "tester", role: str = "admin") -> str:
    """A new token for the user `name` (created with `role` if new); token names are unique, user names reused."""
    from sqlalchemy import select

    from service.auth import create_token
    from service.db.models import User
    from service.db.session import session_scope

    with session_scope(db_url) as s:
        user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            user = User(name=name, role=role)
            s.add(user)
            s.flush()
        return create_token(s, f"{name}-{secrets.token_hex(4)}", user)


def wait_status(client: httpx.Client, run_id: str, statuses: set[str], timeout: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        r = client.get(f"/api/v1/runs/{run_id}").json()
        return r if r["status"] in statuses else None

    return wait_for(done, timeout, f"run {run_id} did not reach {statuses}", every=0.5)


@pytest.fixture(scope="module")
def pg() -> Iterator[FreshDatabase]:
    """A fresh database for a module (not migrated: the API or the test migrates it)."""
    why = postgres_available()
    if why:
        pytest.skip(why)
    db = FreshDatabase()
    yield db
    db.drop()


@pytest.fixture(scope="module")
def redis_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


class ServiceStack:
    """The API process on PostgreSQL + Redis, the workers a test starts, a client with an admin token."""

    def __init__(self, db_url: str, broker_url: str, workdir: Path, **env: str):
        self.env = service_env(db_url, broker_url, workdir / "data", **env)
        self.workdir = workdir
        self.db_url = db_url
        self.data_dir = workdir / "data"
        self.workers: list[Proc] = []
        self.api, self.base = start_api(self.env, workdir / "api.log")
        self.client = self.client_for(make_token(db_url))

    def client_for(self, token: str, path: str = "") -> httpx.Client:
        """A client of the API (under `path`, e.g. /api/v1) with `token`."""
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.base + path, headers=headers, timeout=60)

    def start_worker(self, queues: str = "cpu", *extra: str) -> Proc:
        """A `grpolab worker` process (not waited for: see wait_ready)."""
        log = self.workdir / f"worker{len(self.workers)}.log"
        w = Proc(["worker", "--queues", queues, "--loglevel", "INFO", *extra], self.env, log)
        self.workers.append(w)
        return w

    @staticmethod
    def wait_ready(worker: Proc, timeout: float = 90) -> None:
        def ready() -> bool:
            if worker.proc.poll() is not None:
                raise AssertionError(f"worker exited:\n{worker.output()[-3000:]}")
            return "ready" in worker.output()

        wait_for(ready, timeout, "worker not ready")

    def submit(self, text: str, **kw: object) -> dict[str, Any]:
        r = self.client.post("/api/v1/runs", json={"config_text": text, **kw})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.client.get(f"/api/v1/runs/{run_id}").json())

    def logs(self, run_id: str) -> list[str]:
        items = self.client.get(f"/api/v1/runs/{run_id}/logs", params={"limit": 5000}).json()["items"]
        return [ln["line"] for ln in items]

    def metric_steps(self, run_id: str) -> list[int]:
        return [p["step"] for p in self.client.get(f"/api/v1/runs/{run_id}/metrics").json()["items"]]

    def stop(self) -> None:
        """The workers and the API, in parallel (a worker's warm shutdown takes seconds)."""
        for p in [*self.workers, self.api]:
            p.request_stop()
        for p in [*self.workers, self.api]:
            p.stop()


def insert_run(db_url: str, data_dir: Path, *, attempts: int = 0) -> str:
    """A queued one-step run row written straight to the database (no API, no broker message)."""
    from service.db.models import Run
    from service.db.session import session_scope

    run_id = uuid.uuid4().hex[:12]
    with session_scope(db_url) as s:
        s.add(
            Run(
                id=run_id,
                name="r",
                status="queued",
                tags=[],
                tags_index=",",
                config={"run": {"steps": 1}},
                config_text="",
                findings=[],
                queue="cpu",
                attempts=attempts,
                cancel_requested=False,
                step=0,
                total_steps=1,
                reward_sparkline=[],
                log_seq=0,
                output_dir=str(data_dir / run_id),
            )
        )
    return run_id


def migrated_settings(db_url: str, broker_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """The service's Settings on a migrated database, for tests that call the worker's code in-process."""
    from service.db.session import migrate
    from service.settings import Settings

    migrate(db_url)
    return Settings(data_dir=data_dir, database_url=db_url, broker_url=broker_url, **overrides)
