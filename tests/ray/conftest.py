"""Ray tests: one real local Ray cluster per module (head + a second node with the custom resource `node2`), and
the real service around it: PostgreSQL, a private Redis, the API and a Celery worker started with
`--executor ray`. Nothing of Ray is mocked."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import LocalRayCluster
from infra import (
    FreshDatabase,
    Proc,
    RedisServer,
    make_token,
    postgres_available,
    service_env,
    start_api,
    wait_for,
)


def ray_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.dashboard") is None:
        return "Ray with its dashboard is not installed: pip install -e '.[ray]' (make venv does)"
    return None


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRayCluster]:
    why = ray_missing()
    if why:
        pytest.skip(why)
    cluster = start_cluster(tmp_path_factory)
    try:
        yield cluster
    finally:
        cluster.stop()
    time.sleep(1)
    left = [f"{p.pid} {p.name()}" for p in cluster.leftovers()]
    assert not left, f"Ray processes outlived the test cluster: {left}"


def start_cluster(tmp_path_factory: pytest.TempPathFactory, tries: int = 3) -> LocalRayCluster:
    """Head, then node2. Ray gives a starting node a fixed 30 s to register with its GCS; on a loaded 2-core
    machine that can run out, so a failed start is torn down and tried again (a cluster that never comes up
    still fails the tests, with the last error)."""
    for attempt in range(1, tries + 1):
        cluster = LocalRayCluster(tmp_path_factory.mktemp("ray"))
        try:
            cluster.wait_nodes(1)  # a node joins a running head only
            cluster.add_node("node2", {"node2": 1})
            cluster.wait_nodes(2)
            return cluster
        except (RuntimeError, TimeoutError):
            cluster.stop()
            if attempt == tries:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def pg() -> Iterator[FreshDatabase]:
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


class RayStack:
    def __init__(self, env: dict[str, str], workdir: Path, base: str, token: str, cluster: LocalRayCluster):
        import httpx

        self.env = env
        self.workdir = workdir
        self.cluster = cluster
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.worker: Proc | None = None

    def start_worker(self) -> Proc:
        args = ["worker", "--executor", "ray", "--ray-address", self.cluster.address, "--loglevel", "INFO"]
        self.worker = Proc(args, self.env, self.workdir / "worker.log")
        wait_for(lambda: "ready" in self.worker.output(), 90, "ray worker not ready")  # type: ignore[union-attr]
        return self.worker

    def submit(self, text: str) -> dict:
        r = self.client.post("/api/v1/runs", json={"config_text": text})
        assert r.status_code == 201, r.text
        return r.json()

    def run(self, run_id: str) -> dict:
        return self.client.get(f"/api/v1/runs/{run_id}").json()

    def logs(self, run_id: str) -> list[str]:
        items = self.client.get(f"/api/v1/runs/{run_id}/logs", params={"limit": 5000}).json()["items"]
        return [ln["line"] for ln in items]

    def jobs_of(self, run_id: str) -> list:  # type: ignore[type-arg]
        jobs = [
            j for j in self.cluster.client().list_jobs() if (j.metadata or {}).get("grpolab_run") == run_id
        ]
        return sorted(jobs, key=lambda j: j.start_time or 0)


@pytest.fixture(scope="module")
def stack(
    ray_cluster: LocalRayCluster,
    pg: FreshDatabase,
    redis_srv: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RayStack]:
    workdir = tmp_path_factory.mktemp("raystack")
    env = service_env(pg.url, redis_srv.url, workdir / "data", GRPOLAB_HEARTBEAT_TIMEOUT_S="20")
    api, base = start_api(env, workdir / "api.log")
    s = RayStack(env, workdir, base, make_token(pg.url), ray_cluster)
    s.start_worker()
    yield s
    if s.worker is not None:
        s.worker.stop()
    api.stop()
