"""A run's outputs through the API: sample episodes, checkpoints (streamed archives), the merged export, metrics as
CSV and the resolved config. One real run on PostgreSQL + Redis with real API and Celery worker processes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from infra import FreshDatabase, RedisServer, ServiceStack, make_token, wait_for, wait_status

from training.config import OptimConfig

pytestmark = [pytest.mark.services, pytest.mark.slow]

# 4 initial states × 4 episodes; a short warm start makes the tiny model's guesses valid, so rewards differ inside
# groups (advantages are not all 0); evaluations at steps 2 and 4 (eval curves)
CONFIG = """\
model: {hidden_size: 16, num_layers: 1, num_heads: 2, intermediate_size: 32}
warm_start: {steps: 20, batch_size: 32, lr: 0.01}
algorithm: {group_size: 4}
rollout: {batch_size: 16}
optim: {micro_batch_size: 16}
run: {steps: 4, checkpoint_every: 2, sample_episodes: 6, eval_every: 2, eval_episodes: 16}
resources: {cpu_threads: 1}
"""


class Stack:
    """Clients of the service stack for the run's owner (a member), another member, a viewer, an admin."""

    def __init__(self, service: ServiceStack, tokens: dict[str, str]):
        self.data_dir = service.data_dir
        self.root = service.client_for(tokens["owner"])
        self.as_user = {who: service.client_for(t, "/api/v1") for who, t in tokens.items()}
        self.client = self.as_user["owner"]


@pytest.fixture(scope="module")
def stack(
    pg: FreshDatabase, redis_srv: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    service = ServiceStack(pg.url, redis_srv.url, tmp_path_factory.mktemp("artifacts"))
    try:
        service.start_worker()
        roles = {"owner": "member", "other": "member", "viewer": "viewer", "admin": "admin"}
        yield Stack(service, {who: make_token(pg.url, f"{who}-h7", role) for who, role in roles.items()})
    finally:
        service.stop()


@pytest.fixture(scope="module")
def run(stack: Stack) -> dict[str, Any]:
    r = stack.client.post("/runs", json={"config_text": CONFIG, "name": "artifacts"})
    assert r.status_code == 201, r.text
    done = wait_status(stack.root, r.json()["id"], {"succeeded", "failed"}, 240)
    assert done["status"] == "succeeded", done.get("error")
    return done


def grpo(returns: list[float], eps: float = 1e-9) -> list[float]:
    """(R − mean) / (population std + eps), written out independently of training.advantages."""
    mean = sum(returns) / len(returns)
    if all(r == returns[0] for r in returns):
        return [0.0] * len(returns)
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / len(returns))
    return [(r - mean) / (std + eps) for r in returns]


def test_samples_latest_first_with_paging_and_group_advantages(stack: Stack, run: dict[str, Any]) -> None:
    rid = run["id"]
    page = stack.client.get(f"/runs/{rid}/samples", params={"limit": 3}).json()
    assert [s["step"] for s in page["items"]] == [4, 3, 2] and page["next_before"] == 2
    older = stack.client.get(f"/runs/{rid}/samples", params={"limit": 3, "before": 2}).json()
    assert [s["step"] for s in older["items"]] == [1] and older["next_before"] is None
    one = stack.client.get(f"/runs/{rid}/samples", params={"step": 3}).json()["items"]
    assert [s["step"] for s in one] == [3] and one[0] == page["items"][1]
    assert stack.client.get(f"/runs/{rid}/samples", params={"step": 99}).json()["items"] == []
    advantages = []
    for item in page["items"] + older["items"]:
        eps = item["episodes"]
        # 6 episodes = all of group 0 (4) and two of group 1
        assert [(e["group"], e["episode"]) for e in eps] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]
        for e in eps:
            assert e["prompt"] and isinstance(e["completion"], str)
            assert e["reward"] == e["group_rewards"][e["episode"]]
            assert abs(e["advantage"] - grpo(e["group_rewards"])[e["episode"]]) < 1e-9
            advantages.append(e["advantage"])
    assert max(advantages) > 0.5 and min(advantages) < -0.1  # real contrast inside groups was checked


def test_checkpoint_archive_extracts_to_the_same_bytes(stack: Stack, run: dict[str, Any]) -> None:
    rid = run["id"]
    items = stack.client.get(f"/runs/{rid}/checkpoints").json()["items"]
    assert [c["step"] for c in items] == [2, 4]
    folder = stack.data_dir / "runs" / rid / "checkpoints" / "step-000004"
    on_disk = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert {f["name"]: f["size"] for f in items[1]["files"]} == {k: len(v) for k, v in on_disk.items()}
    assert items[1]["size"] == sum(len(v) for v in on_disk.values())
    with stack.client.stream("GET", f"/runs/{rid}/checkpoints/4/archive") as r:
        assert r.status_code == 200 and r.headers["content-type"] == "application/gzip"
        assert "content-length" not in r.headers  # streamed, not built in memory first
        assert r.headers["content-disposition"] == f'attachment; filename="{rid}-step-000004.tar.gz"'
        body = b"".join(r.iter_bytes())
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert got == {f"{rid}-step-000004/{k}": v for k, v in on_disk.items()}
    assert "model.safetensors" in on_disk and "state.json" in on_disk


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/checkpoints/..%2F..%2F..%2Fetc/archive", {404, 422}),
        ("/checkpoints/../../etc/passwd/archive", {404, 422}),
        ("/checkpoints/-1/archive", {422}),
        ("/checkpoints/1e3/archive", {422}),
        ("/checkpoints/3/archive", {404}),
        ("/checkpoints/%2Fetc%2Fpasswd/archive", {404, 422}),
    ],
)
def test_traversal_attempts_are_refused(
    stack: Stack, run: dict[str, Any], path: str, statuses: set[int]
) -> None:
    r = stack.client.get(f"/runs/{run['id']}{path}")
    assert r.status_code in statuses, (path, r.status_code, r.text[:200])
    assert b"root:" not in r.content


def test_symlinks_are_never_archived(stack: Stack, run: dict[str, Any]) -> None:
    rid = run["id"]
    ckpts = stack.data_dir / "runs" / rid / "checkpoints"
    outside = ckpts.parent.parent.parent / "secret"
    outside.mkdir(exist_ok=True)
    (outside / "state.json").write_text("{}")
    (ckpts / "step-000099").symlink_to(outside, target_is_directory=True)  # a whole checkpoint pointing out
    link = ckpts / "step-000002" / "passwd"
    link.symlink_to("/etc/passwd")  # a file inside a real checkpoint
    try:
        steps = [c["step"] for c in stack.client.get(f"/runs/{rid}/checkpoints").json()["items"]]
        assert steps == [4]  # 99 is a link, 2 now holds one: neither is offered
        assert stack.client.get(f"/runs/{rid}/checkpoints/99/archive").status_code == 404
        r = stack.client.get(f"/runs/{rid}/checkpoints/2/archive")
        assert r.status_code == 409 and "symbolic link" in r.json()["detail"]["message"]
    finally:
        link.unlink()
        (ckpts / "step-000099").unlink()


def test_metrics_csv_equals_the_metrics_api(stack: Stack, run: dict[str, Any]) -> None:
    rid = run["id"]
    api_points = stack.client.get(f"/runs/{rid}/metrics").json()["items"]
    r = stack.client.get(f"/runs/{rid}/metrics.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    header, body = rows[0], rows[1:]
    names = sorted({k for p in api_points for k in p["metrics"]})
    assert header == ["step", *names]  # stable order: step, then alphabetical
    assert [int(row[0]) for row in body] == [p["step"] for p in api_points] == [1, 2, 3, 4]
    for row, point in zip(body, api_points, strict=True):
        for name, cell in zip(header[1:], row[1:], strict=True):
            value = point["metrics"].get(name)
            assert (cell == "") if value is None else (float(cell) == value), (
                point["step"],
                name,
                cell,
                value,
            )
    # eval curves: the evaluation metrics exist at the eval_every steps only
    col = header.index("eval/success_rate")
    assert [row[col] != "" for row in body] == [False, True, False, True]
    assert "eval/reward_mean" in header


def test_resolved_config_fills_every_default(stack: Stack, run: dict[str, Any]) -> None:
    rid = run["id"]
    body = stack.client.get(f"/runs/{rid}/config/resolved").json()
    assert body["config_text"] == CONFIG
    resolved = yaml.safe_load(body["yaml"])
    assert resolved == body["config"]
    assert (
        resolved["run"]["sample_episodes"] == 6 and resolved["algorithm"]["group_size"] == 4
    )  # as submitted
    assert resolved["optim"]["lr"] > 0 and resolved["algorithm"]["estimator"] == "grpo"  # defaults, filled in
    assert resolved["optim"]["lr"] == OptimConfig().lr and resolved["run"]["seed"] == 0  # not in CONFIG
    assert body["output_dir"].endswith(rid)
    as_file = stack.client.get(f"/runs/{rid}/config/resolved", params={"format": "yaml"})
    assert as_file.headers["content-type"].startswith("application/yaml") and as_file.text == body["yaml"]
    bad = stack.client.get(f"/runs/{rid}/config/resolved", params={"format": "toml"})
    assert bad.status_code == 422 and "format" in bad.text


def test_export_on_the_worker_then_download(stack: Stack, run: dict[str, Any]) -> None:
    rid = run["id"]
    assert stack.client.get(f"/runs/{rid}/export").json()["status"] == "none"
    for who in ("viewer", "other"):  # a viewer reads only; a member changes only its own runs
        refused = stack.as_user[who].post(f"/runs/{rid}/export", json={})
        assert refused.status_code == 403 and refused.json()["detail"]["code"] == "forbidden", refused.text
    assert stack.client.get(f"/runs/{rid}/export").json()["status"] == "none"  # nothing was queued
    missing = stack.client.post(f"/runs/{rid}/export", json={"step": 3})
    assert missing.status_code == 404 and "steps: 2, 4" in missing.json()["detail"]["message"]
    first = stack.client.post(f"/runs/{rid}/export", json={})
    assert first.status_code == 202 and first.json()["status"] == "queued" and first.json()["step"] == 4
    again = stack.as_user["admin"].post(
        f"/runs/{rid}/export", json={"step": 4}
    )  # an admin may; asked twice = once
    assert again.status_code == 200 and again.json()["status"] in ("queued", "running", "succeeded")
    assert again.json()["requested_by"] == "owner-h7"

    def finished() -> dict[str, Any] | None:
        s = stack.client.get(f"/runs/{rid}/export").json()
        return s if s["status"] in ("succeeded", "failed") else None

    state = wait_for(finished, 180, "the export did not finish")
    assert state["status"] == "succeeded", state["error"]
    names = {f["name"] for f in state["files"]}
    assert {"config.json", "model.safetensors", "grpolab_export.json"} <= names
    r = stack.client.get(f"/runs/{rid}/export/archive")
    assert r.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as tar:
        members = {m.name for m in tar.getmembers()}
    assert f"{rid}-export-step-000004/model.safetensors" in members
    folder = stack.data_dir / "runs" / rid / "export" / "step-000004"
    assert sorted(os.listdir(folder)) == sorted(names)


def test_unknown_run_and_no_token(stack: Stack, run: dict[str, Any]) -> None:
    assert stack.client.get("/runs/ffffffffffff/samples").status_code == 404
    assert stack.client.get("/runs/ffffffffffff/metrics.csv").status_code == 404
    anonymous = httpx.Client(base_url=stack.client.base_url).get(f"/runs/{run['id']}/checkpoints/4/archive")
    assert anonymous.status_code == 401


# -- the file readers alone (no processes) ---------------------------------------------------------------------
def test_samples_reader_pages_a_large_file_and_skips_a_line_being_written(tmp_path: Path) -> None:
    from api.artifacts import SAMPLES_FILE, read_samples

    text = "x" * 40_000  # lines longer than the reader's 64 KB block every two lines
    with (tmp_path / SAMPLES_FILE).open("w") as f:
        for step in range(1, 401):  # 16 MB: binary search and backward reads as on a long run
            f.write(json.dumps({"step": step, "episodes": [{"prompt": text, "step_echo": step}]}) + "\n")
        f.write('{"step": 401, "episodes": [{"prompt": "half')  # the trainer is writing this line now

    def steps(**kw: Any) -> list[int]:
        items = read_samples(tmp_path, kw.get("step"), kw.get("before"), kw.get("limit", 5))
        assert all(i["episodes"][0]["step_echo"] == i["step"] for i in items)
        return [i["step"] for i in items]

    assert steps() == [400, 399, 398, 397, 396]
    assert steps(before=200, limit=3) == [199, 198, 197]
    assert steps(before=2, limit=3) == [1]
    assert steps(step=1) == [1] and steps(step=277) == [277]
    assert steps(step=401) == [] and steps(step=0) == []
    assert read_samples(tmp_path / "nowhere", None, None, 5) == []


def test_archive_stream_survives_rotation_and_keeps_nested_files(tmp_path: Path) -> None:
    from api.artifacts import folder_files, open_files, tar_gz_stream

    folder = tmp_path / "step-000007"
    (folder / "global_step7").mkdir(parents=True)
    (folder / "global_step7" / "rank0.pt").write_bytes(os.urandom(3 * 1024 * 1024 + 5))  # over one 1 MB piece
    (folder / "empty.txt").write_bytes(b"")
    (folder / "state.json").write_text('{"step": 7}')
    expected = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    opened = open_files(folder_files(folder))
    for p in folder.rglob("*"):  # the trainer rotates the checkpoint away after the download started
        if p.is_file():
            p.unlink()
    body = b"".join(tar_gz_stream("run-step-000007", opened))
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert got == {f"run-step-000007/{k}": v for k, v in expected.items()}
