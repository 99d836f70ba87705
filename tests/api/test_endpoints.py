"""Lint, schema, rules, templates, health, Prometheus metrics, SSE, the error shape and the web UI routes."""

from __future__ import annotations

import json
from pathlib import Path

from training.lint import RULES, lint_text

ROOT = Path(__file__).resolve().parents[2]


def test_me(client, settings) -> None:
    from sqlalchemy import select

    from service.db.models import Project
    from service.db.session import session_scope

    me = client.get("/api/v1/me").json()
    assert {k: me[k] for k in ("name", "role")} == {"name": "tester", "role": "admin"}
    with session_scope(settings.db_url) as s:  # other modules' tests add projects to this database
        every_project = sorted(s.execute(select(Project.name)).scalars())
    assert "default" in me["projects"] and sorted(me["projects"]) == every_project  # an admin is in all
    assert me["token_name"].startswith("tester-")


def test_lint_matches_cli_json(client) -> None:
    text = (ROOT / "examples" / "seed-buggy.yaml").read_text()
    r = client.post("/api/v1/lint", json={"config_text": text})
    assert r.status_code == 200
    assert r.json() == json.loads(json.dumps(lint_text(text, "auto", "<config_text>").to_dict()))
    assert "GL001" in {f["rule"] for f in r.json()["findings"]}


def test_lint_invalid_yaml_is_gl000_with_position(client) -> None:
    r = client.post(
        "/api/v1/lint", json={"config_text": "algorithm:\n  group_size: [1,\n", "input_format": "grpolab"}
    )
    assert r.status_code == 200
    f = r.json()["findings"][0]
    assert f["rule"] == "GL000" and f["line"] is not None


def test_schema_rules_templates(client) -> None:
    schema = client.get("/api/v1/schema/run-config").json()
    assert "algorithm" in schema["properties"]
    rules = client.get("/api/v1/rules").json()
    assert {r["id"] for r in rules} == set(RULES)
    gl001 = client.get("/api/v1/rules/gl001").json()
    assert gl001["id"] == "GL001" and gl001["markdown"].startswith("# GL001")
    assert client.get("/api/v1/rules/GL999").status_code == 404
    templates = client.get("/api/v1/templates").json()
    assert templates[0]["name"] == "default"
    by_name = {t["name"]: t for t in templates}
    assert by_name["seed-buggy"]["title"].startswith("The seed's buggy setting")
    assert by_name["seed-buggy"]["config_text"] == (ROOT / "examples" / "seed-buggy.yaml").read_text()


def test_healthz_without_auth(client) -> None:
    for path in ("/healthz", "/api/v1/healthz"):
        r = client.get(path, headers={"Authorization": ""})
        assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_reports_broker_down(settings) -> None:
    from fastapi.testclient import TestClient
    from infra import free_port

    from api.app import create_app

    broken = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(broken)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503 and r.json()["broker"] == "unreachable"


def test_prometheus_metrics(client) -> None:
    client.post("/api/v1/runs", json={"config": {}})
    client.post("/api/v1/runs", json={"config": {}})
    text = client.get("/api/v1/metrics").text
    assert 'grpolab_runs{status="queued"} 2.0' in text
    assert 'grpolab_queue_depth{queue="cpu"} 2.0' in text
    assert (
        'grpolab_http_request_duration_seconds_count{method="POST",route="/api/v1/runs",status="201"} 2.0'
        in text
    )


def test_error_shape_for_unknown_routes_and_methods(client) -> None:
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and set(r.json()["detail"]) == {"code", "message", "errors", "findings"}
    r = client.delete("/api/v1/runs")
    assert r.status_code == 405 and r.json()["detail"]["code"] == "method_not_allowed"
    r = client.get("/api/v1/runs/doesnotexist")
    assert r.status_code == 404 and "doesnotexist" in r.json()["detail"]["message"]
    # 405 names every method the path serves (GET and POST /runs are two routes), also where the web UI's
    # catch-all GET route would otherwise answer 404
    for method, path, allow in [("DELETE", "/api/v1/runs", "GET, POST"), ("GET", "/api/v1/lint", "POST")]:
        r = client.request(method, path)
        assert (r.status_code, r.headers.get("allow")) == (405, allow), r.text


def test_openapi_describes_the_real_error_shape(client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert "HTTPValidationError" not in str(doc)
    create = doc["paths"]["/api/v1/runs"]["post"]
    for status in ("400", "401", "409", "413", "422", "503"):
        ref = create["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ErrorBody", status
    assert create["security"] == [{"HTTPBearer": []}]
    assert "security" not in doc["paths"]["/healthz"]["get"]
    body = doc["components"]["schemas"]["RunCreate"]
    assert body["oneOf"] == [{"required": ["config"]}, {"required": ["config_text"]}]


def test_frontend_deep_links(settings, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>app shell</html>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    with TestClient(create_app(settings.model_copy(update={"frontend_dist": dist}))) as c:
        assert c.get("/").text == "<html>app shell</html>"
        assert c.get("/runs/abc123").text == "<html>app shell</html>"  # a route of the single-page app
        assert c.get("/assets/app.js").text == "console.log(1)"
        assert c.get("/../../etc/passwd").text == "<html>app shell</html>"


def test_sse_replays_and_ends(client, settings) -> None:
    from service.db.lifecycle import transition
    from service.db.models import LogLine, MetricPoint, RunStatus
    from service.db.session import session_scope

    run_id = client.post("/api/v1/runs", json={"config": {}}).json()["id"]
    with session_scope(settings.db_url) as s:
        transition(s, run_id, RunStatus.RUNNING, "started", worker="w")
        s.add(MetricPoint(run_id=run_id, step=1, metrics={"rollout/reward_mean": 0.5}))
        s.add(LogLine(run_id=run_id, seq=1, line="hello"))
    with session_scope(settings.db_url) as s:
        transition(s, run_id, RunStatus.SUCCEEDED, "done")
    events = _read_sse(client, f"/api/v1/runs/{run_id}/events")
    kinds = [e["event"] for e in events]
    assert kinds == ["status", "status", "metric", "log", "status", "end"]
    assert json.loads(events[2]["data"]) == {"step": 1, "metrics": {"rollout/reward_mean": 0.5}}
    assert json.loads(events[4]["data"])["status"] == "succeeded"
    # resume after the metric: only the log line, the final status and the end
    again = _read_sse(client, f"/api/v1/runs/{run_id}/events", {"Last-Event-ID": events[2]["id"]})
    assert [e["event"] for e in again] == ["log", "status", "end"]


def _read_sse(client, path: str, headers: dict | None = None) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    out: list[dict[str, str]] = []
    with client.stream("GET", path, headers=headers or {}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        cur: dict[str, str] = {}
        for line in r.iter_lines():
            if not line:
                if cur:
                    out.append(cur)
                    if cur.get("event") == "end":
                        break
                cur = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                cur[key] = value
    return out


def test_database_down_is_503_not_500(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient
    from infra import free_port

    from api.app import create_app
    from service.settings import Settings

    s = Settings(data_dir=tmp_path, database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")
    with TestClient(create_app(s, run_migrations=False), raise_server_exceptions=False) as c:
        r = c.get("/api/v1/runs", headers={"Authorization": "Bearer glab_x"})
        assert r.status_code == 503 and r.json()["detail"]["code"] == "unavailable"
        assert r.headers["retry-after"] == "2"
        assert c.get("/healthz").json()["database"] == "OperationalError"
