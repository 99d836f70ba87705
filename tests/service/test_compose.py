"""docker-compose.yml, parsed (no Docker engine here): services, commands, build contexts, health, GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from grpolab.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_services_present() -> None:
    assert {"api", "worker", "worker-cpu", "redis", "postgres"} <= set(SERVICES)


@pytest.mark.parametrize("name", ["api", "worker", "worker-cpu"])
def test_build_context_and_dockerfile_exist(name: str) -> None:
    build = SERVICES[name]["build"]
    context = ROOT / build["context"]
    assert context.is_dir()
    dockerfile = context / build["dockerfile"]
    if name == "worker" and not dockerfile.exists():
        pytest.skip(
            "docker/worker-gpu.Dockerfile belongs to the GPU path and has not landed in this tree yet"
        )
    assert dockerfile.is_file(), dockerfile
    for line in dockerfile.read_text().splitlines():
        # every COPY source (except multi-stage copies) exists in the build context
        if line.startswith("COPY ") and "--from=" not in line:
            for src in line.split()[1:-1]:
                if not any(ch in src for ch in "*?"):
                    assert (context / src).exists(), f"{dockerfile.name}: COPY {src} missing"


@pytest.mark.parametrize("name", ["api", "worker", "worker-cpu"])
def test_commands_are_real_grpolab_commands(name: str) -> None:
    command = SERVICES[name]["command"]
    assert command[0] == "grpolab"
    args = build_parser(command[1]).parse_args(command[1:])  # unknown flags would exit here
    assert callable(args._run)


def test_dependencies_wait_for_health() -> None:
    for name in ("postgres", "redis", "api"):
        assert "healthcheck" in SERVICES[name], name
    assert SERVICES["api"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for worker in ("worker", "worker-cpu"):
        assert SERVICES[worker]["depends_on"]["api"]["condition"] == "service_healthy"


def test_gpu_worker_reserves_nvidia_and_queues() -> None:
    devices = SERVICES["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert SERVICES["worker"]["command"][-1] == "gpu"
    assert SERVICES["worker-cpu"]["command"][-1] == "cpu"


def test_volumes_and_service_urls() -> None:
    assert {"pgdata", "redisdata", "runs"} <= set(COMPOSE["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    for name in ("api", "worker", "worker-cpu"):
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:" in env["DATABASE_URL"]
        assert env["BROKER_URL"] == "redis://redis:6379/0"
        assert "runs:/data" in SERVICES[name]["volumes"]  # checkpoints shared and persistent
    assert SERVICES["api"]["ports"] == ["8000:8000"]
