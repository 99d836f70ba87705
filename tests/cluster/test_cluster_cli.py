"""`grpolab cluster render`: files written from a config file or from a run of a real GRPO Lab server (API process
on PostgreSQL + Redis), the same validation and lint gate as `grpolab train`, errors that name the option."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from grpolab.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from infra import (
    FreshDatabase,
    RedisServer,
    make_token,
    postgres_available,
    service_env,
    start_api,
    tiny_config,
)

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "registry.example/grpolab:1"


def _render(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["cluster", "render", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_rayjob_from_a_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "job.yaml"
    status, _, err = _render(
        capsys, "--target", "rayjob", str(ROOT / "examples/default.yaml"), "--project", "vision",
        "--image", IMAGE, "--priority-class", "grpolab-high", "--time", "2:00:00", "--out", str(out_file),
    )  # fmt: skip
    assert status == 0, err
    config_map, rayjob = yaml.safe_load_all(out_file.read_text())
    assert config_map["data"]["config.yaml"] == (ROOT / "examples/default.yaml").read_text()
    assert rayjob["metadata"]["name"] == "grpolab-default"
    assert rayjob["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "vision"
    assert rayjob["spec"]["activeDeadlineSeconds"] == 7200


def test_slurm_and_kueue_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    status, script, err = _render(
        capsys, "--target", "slurm", str(ROOT / "examples/default.yaml"), "--time", "90"
    )
    assert status == 0, err
    assert script.startswith("#!/bin/bash\n") and "#SBATCH --time=01:30:00\n" in script
    status, text, err = _render(
        capsys, "--target", "kueue", "--project", "vision", "--project", "nlp",
        "--quota", "gpus=8,cpus=64,memory=512Gi", "--quota", "vision:gpus=16,cpus=128,memory=1Ti",
    )  # fmt: skip
    assert status == 0, err
    queues = {d["metadata"]["name"]: d for d in yaml.safe_load_all(text) if d["kind"] == "ClusterQueue"}
    gpus = {
        name: q["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2]["nominalQuota"]
        for name, q in queues.items()
    }
    assert gpus == {"grpolab-vision": 16, "grpolab-nlp": 8}


def test_refusals_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("algorithm:\n  group_size: 1x\n")
    status, out, err = _render(capsys, "--target", "slurm", str(bad))
    assert (status, out) == (2, "") and "algorithm.group_size" in err
    double = tmp_path / "double.yaml"
    double.write_text("algorithm:\n  norm_return: true\n")  # double normalization: GL001, an error finding
    out_file = tmp_path / "never.yaml"
    status, out, err = _render(
        capsys, "--target", "rayjob", str(double), "--image", IMAGE, "--out", str(out_file)
    )
    assert status == 1 and "GL001" in err and "refusing" in err and not out_file.exists()
    status, _, err = _render(capsys, "--target", "rayjob", str(ROOT / "examples/default.yaml"))
    assert status == 2 and "--image" in err
    status, _, err = _render(
        capsys, "--target", "slurm", str(ROOT / "examples/default.yaml"), "--time", "soon"
    )
    assert status == 2 and "--time 'soon'" in err
    status, _, err = _render(capsys, "--target", "kueue", "--project", "nlp")
    assert status == 2 and "project 'nlp' has no quota" in err


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """A `grpolab api` process on a fresh database (no worker: runs stay queued): (URL, token, database URL)."""
    why = postgres_available()
    if why:
        pytest.skip(why)
    from service.db.session import migrate

    tmp = tmp_path_factory.mktemp("cluster-api")
    (tmp / "redis").mkdir()
    with contextlib.ExitStack() as cleanup:  # whatever fails to start, what did start is stopped
        db = FreshDatabase()
        cleanup.callback(db.drop)
        redis = RedisServer(tmp / "redis")
        cleanup.callback(redis.stop)
        migrate(db.url)
        proc, base = start_api(service_env(db.url, redis.url, tmp / "data"), tmp / "api.log")
        cleanup.callback(proc.stop)
        yield base, make_token(db.url), db.url


def test_from_run_reads_the_runs_config_and_project(
    server: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, token, _ = server
    api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert api.post("/projects", json={"name": "vision"}).status_code == 201
    text = tiny_config(steps=3)
    created = api.post("/runs", json={"config_text": text, "project": "vision"})
    assert created.status_code in (200, 201), created.text
    run_id = created.json()["id"]
    status, out, err = _render(
        capsys, "--target", "rayjob", "--from-run", run_id, "--url", base, "--token", token, "--image", IMAGE
    )
    assert status == 0, err
    config_map, rayjob = yaml.safe_load_all(out)
    assert config_map["data"]["config.yaml"] == text
    assert rayjob["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "vision"
    assert rayjob["metadata"]["name"] == f"grpolab-{run_id[:12]}"
    status, _, err = _render(
        capsys, "--target", "slurm", "--from-run", "0" * 32, "--url", base, "--token", token
    )
    assert status == 1 and "could not read run" in err


def test_kueue_queues_for_every_project_of_the_server(
    server: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, token, _ = server
    api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert api.post("/projects", json={"name": "nlp"}).status_code == 201
    names = [p["name"] for p in api.get("/projects").json()["items"]]
    status, text, err = _render(
        capsys, "--target", "kueue", "--url", base, "--token", token, "--quota", "gpus=4,cpus=32,memory=128Gi"
    )
    assert status == 0, err
    local_queues = sorted(
        d["metadata"]["name"] for d in yaml.safe_load_all(text) if d["kind"] == "LocalQueue"
    )
    assert local_queues == sorted(names) and {"default", "nlp"} <= set(names)
