"""Ray tests: one real local Ray cluster for the module (head + a second node with the custom resource `node2`),
and the real service around it: PostgreSQL, a private Redis, the API and two Celery workers started with
`--executor ray` (two, so two runs can train at once, one per node). Nothing of Ray is mocked.

Start-up overlaps: the API and the workers start while the head node boots (a worker reaches Ray only when it
submits a run)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import LocalRayCluster
from infra import FreshDatabase, RedisServer, ServiceStack, pg, redis_srv, wait_for

__all__ = [
    "pg",
    "redis_srv",
]  # the module-scoped fixtures of tests/service/infra.py, shared with tests/worker

RAY_WORKERS = 2


def ray_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.dashboard") is None:
        return "Ray with its dashboard is not installed: pip install -e '.[ray]' (make venv does)"
    return None


class RayStack(ServiceStack):
    """The service stack with workers that submit to `cluster`, and the cluster's view of a run's jobs."""

    def __init__(self, db_url: str, broker_url: str, workdir: Path, cluster: LocalRayCluster):
        self.cluster = cluster
        super().__init__(db_url, broker_url, workdir, GRPOLAB_HEARTBEAT_TIMEOUT_S="20")

    def start_ray_workers(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers.clear()
        for _ in range(RAY_WORKERS):
            self.start_worker("cpu", "--executor", "ray", "--ray-address", self.cluster.address)

    def ray_status(self) -> str:
        """`ray status`: the cluster's nodes, resource usage and pending demands (placement groups waiting)."""
        import subprocess

        from cluster import VENV_BIN, ray_env

        try:
            out = subprocess.run(
                [str(VENV_BIN / "ray"), "status", f"--address=127.0.0.1:{self.cluster.gcs_port}"],
                capture_output=True,
                text=True,
                env=ray_env(),
                timeout=60,
            )
        except subprocess.TimeoutExpired:
            return "ray status: no answer within 60 s"
        return (out.stdout + out.stderr).strip()

    def wait_idle(self, timeout: float = 120) -> None:
        """Until no CPU and no `node2` is in use on the cluster: what the runs of earlier tests held is released
        (Ray frees a finished job's placement group and actors asynchronously)."""
        usage = ""

        def idle() -> bool:
            nonlocal usage
            usage = self.ray_status()
            return all(
                re.search(rf"^\s*0(\.0)?/\d+(\.\d+)? {name}$", usage, re.M) for name in ("CPU", "node2")
            )

        try:
            wait_for(idle, timeout, "the cluster's CPUs and node2 are not free", every=1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{usage}") from None

    def diagnose(self, run_id: str) -> str:
        """What the run, its Ray jobs, the cluster's placement groups and the workers were doing (for a failure)."""
        parts = []
        try:
            run = self.run(run_id)
            parts.append(f"run: status={run['status']} step={run['step']} attempts={run['attempts']}")
            parts.append(f"history: {run['history']}")
            parts.append("last log lines:\n  " + "\n  ".join(self.logs(run_id)[-25:]))
        except Exception as exc:
            parts.append(f"run: could not read ({exc})")
        try:
            for job in self.cluster.client().list_jobs():
                parts.append(
                    f"job {job.submission_id}: {status_of(job)} run={(job.metadata or {}).get('grpolab_run')} "
                    f"exit={job.driver_exit_code} message={(job.message or '')[:300]!r}"
                )
            from ray.util.state import list_actors, list_placement_groups

            for pg in list_placement_groups(address=self.cluster.address, timeout=10):
                parts.append(f"placement group {pg.name}: {pg.state} bundles={pg.bundles}")
            for actor in list_actors(address=self.cluster.address, timeout=10):
                if actor.state != "DEAD":
                    parts.append(f"actor {actor.class_name} {actor.state} node={str(actor.node_id)[:12]}")
            parts.append(f"alive nodes: {self.cluster.alive_nodes()}")
        except Exception as exc:
            parts.append(f"cluster: could not read ({type(exc).__name__}: {exc})")
        parts.append(self.ray_status())
        for i, w in enumerate(self.workers):
            parts.append(f"worker {i} log tail:\n  " + "\n  ".join(w.output().splitlines()[-15:]))
        return "\n".join(parts)

    def jobs_of(self, run_id: str) -> list:  # type: ignore[type-arg]
        jobs = [
            j for j in self.cluster.client().list_jobs() if (j.metadata or {}).get("grpolab_run") == run_id
        ]
        return sorted(jobs, key=lambda j: j.start_time or 0)


def status_of(job) -> str:  # type: ignore[no-untyped-def]
    return str(getattr(job.status, "value", job.status))


def boot(cluster: LocalRayCluster) -> None:
    """node2 joins as soon as the head's GCS listens (the head's dashboard, the slow part, boots meanwhile)."""
    cluster.wait_gcs()
    cluster.add_node("node2", {"node2": 1})
    cluster.wait_nodes(2)


@pytest.fixture(scope="module")
def stack(
    pg: FreshDatabase, redis_srv: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RayStack]:
    """Ray gives a starting node a fixed 30 s to register with its GCS; on a loaded 2-core machine that can run
    out, so a cluster that failed to start is torn down and started again, 3 tries (one that never comes up still
    fails the tests, with the last error); the workers are restarted with the new cluster's address."""
    why = ray_missing()
    if why:
        pytest.skip(why)
    cluster = LocalRayCluster(tmp_path_factory.mktemp("ray"))  # the head boots while the API starts
    try:
        s = RayStack(pg.url, redis_srv.url, tmp_path_factory.mktemp("raystack"), cluster)
    except BaseException:
        cluster.stop()
        raise
    try:
        s.start_ray_workers()
        for attempt in range(1, 4):
            try:
                boot(s.cluster)
                break
            except (RuntimeError, TimeoutError):
                s.cluster.stop()
                if attempt == 3:
                    raise
                s.cluster = LocalRayCluster(tmp_path_factory.mktemp("ray"))
                s.start_ray_workers()
        for w in s.workers:
            s.wait_ready(w)
        yield s
    finally:
        s.stop()
        s.cluster.stop()
    left = s.cluster.survivors()
    assert not left, f"Ray processes outlived the test cluster: {left}"
