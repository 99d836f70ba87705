"""The compose project of the compose test: podman-compose over the real docker-compose.yml plus
compose.test.yml, with the test's engine configuration, and a client for the API inside it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from infra import wait_for

from . import engine

PROJECT = "grpolab-composetest"
SERVICES = yaml.safe_load((engine.ROOT / "docker-compose.yml").read_text())["services"]


class Stack:
    """The compose project: podman-compose with the test's engine configuration, and the API's client."""

    def __init__(self, eng: engine.Engine, images: dict[str, str]) -> None:
        self.engine = eng
        self.images = images
        self.env = {
            **eng.env,
            "GRPOLAB_TEST_POSTGRES_IMAGE": images["postgres"],
            "GRPOLAB_TEST_REDIS_IMAGE": images["redis"],
            "GRPOLAB_TEST_API_IMAGE": engine.project_image("api"),
            "GRPOLAB_TEST_WORKER_IMAGE": engine.project_image("worker-cpu"),
        }
        self.token = ""
        self.first_run = ""
        self.figures: dict[str, Any] = {}

    def compose(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            str(Path(sys.executable).with_name("podman-compose")),
            "-p",
            PROJECT,
            "-f",
            str(engine.ROOT / "docker-compose.yml"),
            "-f",
            str(engine.HERE / "compose.test.yml"),
            *args,
        ]
        out = subprocess.run(
            cmd, env=self.env, cwd=engine.ROOT, capture_output=True, text=True, timeout=timeout
        )
        if check and out.returncode != 0:
            raise AssertionError(f"podman-compose {' '.join(args)}: {out.returncode}\n{out.stderr[-4000:]}")
        return out

    def container(self, service: str) -> str:
        out = self.engine.podman(
            "ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}",
            "--filter", f"label=io.podman.compose.service={service}", "--format", "{{.Names}}",
        )  # fmt: skip
        names = out.stdout.split()
        assert len(names) == 1, (service, names)
        return names[0]

    def health(self, service: str) -> str:
        return self.engine.podman(
            "inspect", "--format", "{{.State.Health.Status}}", self.container(service)
        ).stdout.strip()

    def logs(self, service: str) -> str:
        out = self.engine.podman("logs", self.container(service))
        return out.stdout + out.stderr

    def exec(self, service: str, *cmd: str) -> str:
        return self.engine.podman("exec", self.container(service), *cmd).stdout

    def up(self) -> float:
        """`up -d` of the compose file's no-GPU line (`api worker-cpu` and what they depend on); the seconds until
        every health check passes. Docker Compose starts a service once its `condition: service_healthy` holds;
        podman-compose skips that condition under podman < 4.6 (Debian's is 4.3), so the test starts the services
        in that order itself, one `up` per step."""
        start = time.monotonic()
        for group in (("postgres", "redis"), ("api",), ("worker-cpu",)):
            self.compose("up", "-d", "--no-build", *group)
            checked = [name for name in group if "healthcheck" in SERVICES[name]]
            wait_for(
                lambda: all(self.health(name) == "healthy" for name in checked),  # noqa: B023 (called at once)
                300,
                f"{checked} not healthy",
                every=1,
            )
        return time.monotonic() - start

    def url(self) -> str:
        """The API at its address on the compose network (no port is published on the host)."""
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
        address = self.engine.podman("inspect", "--format", fmt, self.container("api")).stdout.split()[0]
        return f"http://{address}:8000"

    def client(self, token: str | None = None) -> httpx.Client:
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url(), headers=headers, timeout=30, trust_env=False)

    def wait_run(self, run_id: str, statuses: set[str], timeout: float) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def reached() -> bool:
            with self.client() as c:
                found.update(c.get(f"/api/v1/runs/{run_id}").json())
            return found["status"] in statuses

        wait_for(reached, timeout, f"run {run_id} never reached {statuses}", every=1)
        return found
