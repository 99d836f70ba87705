"""POST/GET /runs, cancel, retry, metrics, logs — on PostgreSQL with the Redis broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.db.models import Run, RunEvent
from training.config import RunConfig

ROOT = Path(__file__).resolve().parents[2]
SEED = (ROOT / "examples" / "seed-buggy.yaml").read_text()
ALLOWED = (
    SEED + "lint:\n  allow:\n    - rule: GL001\n      reason: ablation of the seed's double normalization\n"
)


def count_runs(settings) -> int:  # type: ignore[no-untyped-def]
    from service.db.session import session_scope

    with session_scope(settings.db_url) as s:
        return int(s.execute(select(func.count()).select_from(Run)).scalar_one())


def queued_messages(settings) -> int:  # type: ignore[no-untyped-def]
    import redis

    r = redis.Redis.from_url(settings.broker)
    return int(r.llen("cpu") + r.llen("gpu"))


def test_seed_buggy_config_refused_with_gl001_and_nothing_stored(client, settings) -> None:
    r = client.post("/api/v1/runs", json={"config_text": SEED})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "lint_failed"
    gl001 = [f for f in detail["findings"] if f["rule"] == "GL001"]
    assert gl001 and gl001[0]["severity"] == "error" and gl001[0]["line"] == 6
    assert count_runs(settings) == 0
    assert queued_messages(settings) == 0


def test_seed_with_lint_allow_is_queued(client, settings) -> None:
    r = client.post("/api/v1/runs", json={"config_text": ALLOWED, "name": "ablation", "tags": ["abl"]})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["status"] == "queued" and run["name"] == "ablation" and run["tags"] == ["abl"]
    f = next(f for f in run["findings"] if f["rule"] == "GL001")
    assert f["allowed"] is True and "ablation" in f["allow_reason"]
    assert run["config"]["algorithm"]["norm_return"] is True
    assert run["config"]["run"]["steps"] == RunConfig().run.steps  # defaults filled in
    assert run["config_text"] == ALLOWED
    assert run["history"][0]["status"] == "queued"
    assert count_runs(settings) == 1
    assert queued_messages(settings) == 1


def test_invalid_config_text_has_line_and_column(client, settings) -> None:
    text = "algorithm:\n  group_size: 0\n  estimatorr: grpo\n"
    r = client.post("/api/v1/runs", json={"config_text": text})
    assert r.status_code == 422
    d = r.json()["detail"]
    assert d["code"] == "invalid_config"
    by_field = {e["field"]: e for e in d["errors"]}
    assert by_field["algorithm.group_size"]["line"] == 2
    assert by_field["algorithm.estimatorr"]["line"] == 3
    assert "did you mean 'estimator'" in by_field["algorithm.estimatorr"]["message"]
    assert count_runs(settings) == 0


def test_config_object_and_gpu_queue(client, settings) -> None:
    r = client.post("/api/v1/runs", json={"config": {"resources": {"gpus": 1}, "run": {"steps": 3}}})
    assert r.status_code == 201, r.text
    assert r.json()["queue"] == "gpu"
    assert "gpus: 1" in r.json()["config_text"]
    import redis

    assert redis.Redis.from_url(settings.broker).llen("gpu") == 1


def test_exactly_one_of_config_and_text(client) -> None:
    both = client.post("/api/v1/runs", json={"config": {}, "config_text": ""})
    neither = client.post("/api/v1/runs", json={"name": "x"})
    assert both.status_code == neither.status_code == 422
    assert "exactly one" in both.json()["detail"]["message"]


def test_list_filter_and_pagination(client) -> None:
    ids = []
    for i in range(5):
        tags = ["even"] if i % 2 == 0 else ["odd"]
        ids.append(
            client.post("/api/v1/runs", json={"config": {}, "name": f"run-{i}", "tags": tags}).json()["id"]
        )
    page = client.get("/api/v1/runs", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5 and [r["name"] for r in page["items"]] == ["run-3", "run-2"]
    assert client.get("/api/v1/runs", params={"tag": "even"}).json()["total"] == 3
    assert client.get("/api/v1/runs", params={"status": "queued", "q": "run-4"}).json()["total"] == 1
    assert client.get("/api/v1/runs", params={"status": "running"}).json()["total"] == 0
    bad = client.get("/api/v1/runs", params={"status": "bogus"})
    assert bad.status_code == 422 and bad.json()["detail"]["errors"][0]["field"] == "status"


def test_cancel_queued_then_conflict_then_retry(client, settings) -> None:
    run_id = client.post("/api/v1/runs", json={"config": {}}).json()["id"]
    r = client.post(f"/api/v1/runs/{run_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/runs/{run_id}/cancel")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "conflict"
    retried = client.post(f"/api/v1/runs/{run_id}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert [h["status"] for h in retried.json()["history"]] == ["queued", "cancelled", "queued"]
    assert client.post(f"/api/v1/runs/{run_id}/retry").status_code == 409
    assert queued_messages(settings) == 2  # submit + retry


def test_retry_starts_afresh_and_keeps_the_history(client, settings) -> None:
    """B7: a retried run's counters, times and end state are the new attempt's; the events keep the old ones."""
    from service.db.lifecycle import transition
    from service.db.models import RunStatus
    from service.db.session import session_scope

    run_id = client.post("/api/v1/runs", json={"config": {}}).json()["id"]
    with session_scope(settings.db_url) as s:
        assert transition(
            s, run_id, RunStatus.RUNNING, "claimed by w1", from_={RunStatus.QUEUED}, worker="w1"
        )
        assert transition(s, run_id, RunStatus.QUEUED, "worker w1 lost", from_={RunStatus.RUNNING})
        assert transition(
            s, run_id, RunStatus.RUNNING, "claimed by w2", from_={RunStatus.QUEUED}, worker="w2"
        )
        died = {"error": "the trainer died", "summary": {"steps": 80, "stopped": True}}
        assert transition(s, run_id, RunStatus.FAILED, "the trainer died", from_={RunStatus.RUNNING}, **died)
    failed = client.get(f"/api/v1/runs/{run_id}").json()
    assert failed["attempts"] == 2 and failed["error"] == "the trainer died"
    assert (
        failed["started_at"] and failed["finished_at"] and failed["summary"] == {"steps": 80, "stopped": True}
    )

    retried = client.post(f"/api/v1/runs/{run_id}/retry")
    assert retried.status_code == 200, retried.text
    run = retried.json()
    assert run["status"] == "queued" and run["attempts"] == 0
    assert run["started_at"] is None and run["finished_at"] is None
    assert run["error"] is None and run["summary"] is None and run["cancel_requested"] is False
    assert [(h["status"], h["reason"]) for h in run["history"]] == [
        ("queued", failed["history"][0]["reason"]),
        ("running", "claimed by w1"),
        ("queued", "worker w1 lost"),
        ("running", "claimed by w2"),
        ("failed", "the trainer died"),
        ("queued", "retried by tester"),
    ]
    assert client.get(f"/api/v1/runs/{run_id}").json()["attempts"] == 0  # stored, not only in the response

    # after the retry a lost worker counts again from the new attempt, and keeps its start time
    with session_scope(settings.db_url) as s:
        assert transition(
            s, run_id, RunStatus.RUNNING, "claimed by w3", from_={RunStatus.QUEUED}, worker="w3"
        )
    started = client.get(f"/api/v1/runs/{run_id}").json()["started_at"]
    with session_scope(settings.db_url) as s:
        assert transition(s, run_id, RunStatus.QUEUED, "worker w3 lost", from_={RunStatus.RUNNING})
    requeued = client.get(f"/api/v1/runs/{run_id}").json()
    assert requeued["attempts"] == 1 and requeued["started_at"] == started is not None


def test_transition_is_the_atomic_claim(settings, client) -> None:
    from service.db.lifecycle import transition
    from service.db.models import RunStatus
    from service.db.session import session_scope

    run_id = client.post("/api/v1/runs", json={"config": {}}).json()["id"]
    with session_scope(settings.db_url) as s:
        assert transition(s, run_id, RunStatus.RUNNING, "a", from_={RunStatus.QUEUED}, worker="w1")
    with session_scope(settings.db_url) as s:
        assert not transition(s, run_id, RunStatus.RUNNING, "b", from_={RunStatus.QUEUED}, worker="w2")
        run = s.get(Run, run_id)
        assert run is not None and run.worker == "w1" and run.attempts == 1
        n = s.execute(
            select(func.count()).select_from(RunEvent).where(RunEvent.run_id == run_id)
        ).scalar_one()
        assert n == 2
    with pytest.raises(ValueError), session_scope(settings.db_url) as s:
        transition(s, run_id, RunStatus.SUCCEEDED, "x", from_={RunStatus.QUEUED})


def test_metrics_and_logs_since(client, settings) -> None:
    from service.db.models import LogLine, MetricPoint
    from service.db.session import session_scope

    run_id = client.post("/api/v1/runs", json={"config": {}}).json()["id"]
    with session_scope(settings.db_url) as s:
        for step in (1, 2, 3):
            s.add(MetricPoint(run_id=run_id, step=step, metrics={"rollout/reward_mean": step / 10}))
            s.add(LogLine(run_id=run_id, seq=step, line=f"line {step}"))
    m = client.get(f"/api/v1/runs/{run_id}/metrics", params={"since": 1}).json()["items"]
    assert [p["step"] for p in m] == [2, 3] and m[1]["metrics"]["rollout/reward_mean"] == 0.3
    logs = client.get(f"/api/v1/runs/{run_id}/logs", params={"since": 2}).json()["items"]
    assert [ln["line"] for ln in logs] == ["line 3"]
    assert client.get("/api/v1/runs/nope/metrics").status_code == 404


def test_idempotency_key_returns_same_run(client, settings) -> None:
    h = {"Idempotency-Key": "abc-123"}
    a = client.post("/api/v1/runs", json={"config": {}}, headers=h)
    b = client.post("/api/v1/runs", json={"config": {}}, headers=h)
    assert a.status_code == 201 and b.status_code == 200, a.text
    assert a.json()["id"] == b.json()["id"]
    assert count_runs(settings) == 1 and queued_messages(settings) == 1


def test_idempotency_keys_are_per_user_and_bound_to_the_config(client, settings) -> None:
    from infra import make_token

    h = {"Idempotency-Key": "shared-key"}
    mine = client.post("/api/v1/runs", json={"config": {"run": {"steps": 7}}}, headers=h)
    other_token = make_token(settings.db_url, name="someone-else")
    theirs = client.post(
        "/api/v1/runs",
        json={"config": {"run": {"steps": 7}}},
        headers={**h, "Authorization": f"Bearer {other_token}"},
    )
    assert mine.status_code == 201 and theirs.status_code == 201  # another user's key is not ours
    assert mine.json()["id"] != theirs.json()["id"]
    again = client.post("/api/v1/runs", json={"config": {"run": {"steps": 7}}}, headers=h)
    assert again.status_code == 200 and again.json()["id"] == mine.json()["id"]
    changed = client.post("/api/v1/runs", json={"config": {"run": {"steps": 8}}}, headers=h)
    assert changed.status_code == 409
    body = changed.json()
    assert (
        body["detail"]["code"] == "idempotency_key_reused" and mine.json()["id"] in body["detail"]["message"]
    )
    assert count_runs(settings) == 2 and queued_messages(settings) == 2


def test_broker_down_at_submit_then_reaper_sends(settings) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from infra import free_port, make_token

    from api.app import create_app
    from worker.reaper import resend_queued

    down = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down)) as c:
        c.headers["Authorization"] = f"Bearer {make_token(settings.db_url)}"
        r = c.post("/api/v1/runs", json={"config": {}})
    assert r.status_code == 201 and r.json()["status"] == "queued"  # stored: the submit is not lost
    assert queued_messages(settings) == 0
    assert resend_queued(settings) == [r.json()["id"]]  # the reaper, once the broker answers
    assert queued_messages(settings) == 1
    assert resend_queued(settings) == []  # sent once, not again
