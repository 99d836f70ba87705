"""A real Ray cluster on loopback for tests: a head node (with the dashboard, which the Job API needs) and worker
nodes, each its own `ray start --block` process tree with private ports and a private temp dir.

Teardown never uses `ray stop` (it would stop every Ray on the machine, other people's included): every node's
process tree is snapshotted and killed at once, then anything still carrying our marker.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
MARKER = "GRPOLAB_TEST_RAY_CLUSTER"  # in the environment of every process a test cluster starts
VENV_BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node_ports() -> list[str]:
    """Every port a node listens on, chosen free (two nodes share this host; Ray's fixed defaults would clash)."""
    # a block of worker ports below the ephemeral range the other ports come from (no overlap with them)
    lo = 20000 + random.randrange(100) * 100
    return [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--metrics-export-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--min-worker-port={lo}",
        f"--max-worker-port={lo + 99}",
    ]


def ray_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(
        RAY_USAGE_STATS_ENABLED="0",
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",  # the job's `python` is the project's
        PYTHONPATH=str(ROOT),
        OMP_NUM_THREADS="1",
        RAY_DEDUP_LOGS="0",
        # a busy 2-core CI machine: the dashboard's modules may need more than Ray's 30 s to come up
        RAY_DASHBOARD_SUBPROCESS_MODULE_WAIT_READY_TIMEOUT="300",
        RAY_DASHBOARD_STARTUP_TIMEOUT_S="300",
        DASHBOARD_METRIC_PORT=str(free_port()),  # Ray's fixed default would clash with any other Ray here
    )
    return env


class Node:
    def __init__(self, args: list[str], log: Path, temp_dir: Path):
        self.log = log
        self.temp_dir = temp_dir
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "ray"), "start", "--block", "--disable-usage-stats", *args],
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            env={**ray_env(), MARKER: str(temp_dir)},  # inherited by every process of the node
            cwd=ROOT,
            start_new_session=True,
        )

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def kill(self) -> None:
        """The node dies at once: every process of its tree gets SIGKILL (snapshotted first, so none escapes)."""
        procs = self.tree()
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(procs, timeout=10)
        self.proc.wait(timeout=10)


class LocalRayCluster:
    """`ray start --head` (1 CPU, dashboard on) plus worker nodes, all on 127.0.0.1."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        # a short path: Ray's socket names must fit in 107 bytes
        self.temp_dir = Path(tempfile.mkdtemp(prefix="rayt", dir="/tmp"))
        self.gcs_port = free_port()
        self.dashboard_port = free_port()
        self.nodes: dict[str, Node] = {}
        head = [
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={self.gcs_port}",
            "--num-cpus=1",
            "--num-gpus=0",
            "--include-dashboard=true",  # the Job API lives in the dashboard
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={free_port()}",
            f"--temp-dir={self.temp_dir}",
            *_node_ports(),
        ]
        self.nodes["head"] = Node(head, workdir / "ray-head.log", self.temp_dir)

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def add_node(self, name: str, resources: dict[str, float]) -> Node:
        args = [
            f"--address=127.0.0.1:{self.gcs_port}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=1",
            "--num-gpus=0",
            f"--resources={json.dumps(resources)}",
            f"--temp-dir={self.temp_dir}",
            *_node_ports(),
        ]
        node = Node(args, self.workdir / f"ray-{name}.log", self.temp_dir)
        self.nodes[name] = node
        return node

    def client(self):  # type: ignore[no-untyped-def]
        from ray.job_submission import JobSubmissionClient

        return JobSubmissionClient(self.address)

    def alive_nodes(self) -> int:
        from ray.util.state import list_nodes

        return len(list_nodes(address=self.address, filters=[("state", "=", "ALIVE")], timeout=10))

    def wait_gcs(self, timeout: float = 180) -> None:
        """Until the head's GCS accepts connections: what a joining node needs (the dashboard comes later)."""
        import socket

        deadline = time.monotonic() + timeout
        head = self.nodes["head"]
        while time.monotonic() < deadline:
            if head.proc.poll() is not None:
                raise RuntimeError(f"ray head exited: {head.log.read_text()[-3000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.gcs_port), timeout=1),
            ):
                return
            time.sleep(0.2)
        raise TimeoutError(f"the head's GCS not listening on {self.gcs_port} after {timeout} s")

    def wait_nodes(self, n: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            for name, node in self.nodes.items():
                if node.proc.poll() is not None:
                    raise RuntimeError(f"ray node {name} exited: {node.log.read_text()[-3000:]}")
            try:
                if self.alive_nodes() >= n:
                    return
            except Exception as exc:  # the dashboard is still starting
                last = exc
            time.sleep(1)
        raise TimeoutError(f"{n} Ray nodes not alive after {timeout} s ({last})")

    def leftovers(self) -> list[psutil.Process]:
        """Processes of this cluster still alive: they carry our marker in their environment."""
        me, found = os.getpid(), []
        for p in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if p.pid != me and p.environ().get(MARKER) == str(self.temp_dir):
                    found.append(p)
        return found

    def survivors(self, timeout: float = 10) -> list[str]:
        """`pid name` of this cluster's processes still alive after up to `timeout` s (none: teardown worked)."""
        deadline = time.monotonic() + timeout
        while (left := self.leftovers()) and time.monotonic() < deadline:
            time.sleep(0.2)
        named = []
        for p in left:
            with contextlib.suppress(psutil.Error):
                named.append(f"{p.pid} {p.name()}")
        return named

    def stop(self) -> None:
        """Every node at once, SIGKILL: nothing of a test cluster needs a clean shutdown (its temp dir goes too),
        and a node's own SIGTERM path waits for its processes one by one."""
        procs = [p for node in self.nodes.values() for p in node.tree()]
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(procs, timeout=10)
        for node in self.nodes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                node.proc.wait(timeout=10)
        # orphans of a node that died at start-up (re-parented, so not in its tree)
        for p in self.leftovers():
            with contextlib.suppress(psutil.Error):
                p.kill()
        shutil.rmtree(self.temp_dir, ignore_errors=True)
