"""Webhooks against a real local HTTP server: a run's end and a sweep's end are POSTed as Slack-compatible JSON
after the transition commits (never inside it), with retries; scopes, roles and bad input are refused clearly."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from infra import make_token, tiny_config, wait_for
from sqlalchemy import select, text, update

from service import webhooks
from service.db.models import Run, Sweep, Webhook
from service.db.session import session_scope

SECRET_PATH = "/services/T000/B000/s3cr3tXYZ"


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every POST; `fail_first` answers 500 that many times."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_first = 0
        self.hold: threading.Event | None = None  # when set: each request waits for it before answering
        self.answered = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.hold is not None:
                    receiver.hold.wait(15)
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(500)
                else:
                    receiver.posts.append({"path": self.path, "json": json.loads(body)})
                    self.send_response(200)
                self.end_headers()
                receiver.answered += 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[tuple[str, str]]:
        return [
            (p["json"]["event"], (p["json"].get("run") or p["json"].get("sweep"))["id"]) for p in self.posts
        ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    if r.hold is not None:
        r.hold.set()
    r.server.shutdown()


@pytest.fixture
def hooks_client(settings, client, monkeypatch):  # type: ignore[no-untyped-def]
    from service.db.session import get_engine

    with get_engine(settings.db_url).begin() as conn:
        conn.execute(text("TRUNCATE webhooks, sweeps CASCADE"))
    monkeypatch.setattr(webhooks, "RETRY_PAUSE_S", 0.05)
    yield client
    assert webhooks.wait_idle(30), "webhook deliveries still pending after the test"


def as_user(client: Any, settings: Any, name: str, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(settings.db_url, name, role)}"}


def queued_run(client: Any, headers: dict[str, str] | None = None) -> str:
    r = client.post("/api/v1/runs", json={"config_text": tiny_config(steps=2)}, headers=headers or {})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_run_end_is_posted_after_the_transition_and_the_url_stays_secret(hooks_client, receiver) -> None:
    client = hooks_client
    r = client.post("/api/v1/webhooks", json={"url": receiver.url})
    assert r.status_code == 201, r.text
    hook = r.json()
    assert SECRET_PATH not in hook["url"] and hook["url"].endswith("tXYZ") and hook["user"] == "tester"
    assert hook["events"] == ["run.succeeded", "run.failed", "run.cancelled", "sweep.finished"]

    run_id = queued_run(client)
    receiver.hold = threading.Event()  # the receiver is slow: the cancel must not wait for it
    assert client.post(f"/api/v1/runs/{run_id}/cancel").json()["status"] == "cancelled"
    assert receiver.answered == 0  # the cancel answered while the delivery was still in flight
    receiver.hold.set()
    wait_for(lambda: receiver.posts, 10, "no webhook POST arrived")
    (post,) = receiver.posts
    assert post["path"] == SECRET_PATH
    body = post["json"]
    assert (
        body["event"] == "run.cancelled"
        and body["run"]["id"] == run_id
        and body["run"]["status"] == "cancelled"
    )
    assert run_id in body["text"] and body["blocks"][0]["text"]["text"] == body["text"]  # Slack's shape
    assert webhooks.wait_idle(10)
    (listed,) = client.get("/api/v1/webhooks").json()["items"]
    assert listed["last_sent_at"] is not None and listed["last_error"] is None


def test_retries_then_records_the_error_without_the_secret(hooks_client, receiver, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every thread: the secret path must appear in none
    client = hooks_client
    client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["run.cancelled"]})
    receiver.fail_first = 2  # two 500s, then the third try gets through
    client.post(f"/api/v1/runs/{queued_run(client)}/cancel")
    assert webhooks.wait_idle(20)
    assert len(receiver.posts) == 1 and receiver.answered == 3

    receiver.fail_first = 3  # every try fails
    client.post(f"/api/v1/runs/{queued_run(client)}/cancel")
    assert webhooks.wait_idle(20)
    assert receiver.answered == 6 and len(receiver.posts) == 1
    (hook,) = client.get("/api/v1/webhooks").json()["items"]
    assert hook["last_error"] == f"HTTP 500 from http://127.0.0.1:{receiver.server.server_port}/…"

    tried = client.post(f"/api/v1/webhooks/{hook['id']}/test").json()
    assert tried == {"delivered": True, "error": None} and receiver.posts[-1]["json"]["event"] == "test"
    assert "try 3 of 3: HTTP 500" in caplog.text  # the failures were logged...
    assert SECRET_PATH not in caplog.text  # ...without the URL's secret (nor did httpx log it)


def test_scopes_project_admin_only_and_event_filter(hooks_client, receiver, settings) -> None:
    client = hooks_client
    member = as_user(client, settings, "member-a", "member")
    other = as_user(client, settings, "member-b", "member")
    r = client.post("/api/v1/webhooks", json={"url": receiver.url, "project": "default"}, headers=member)
    assert r.status_code == 403 and "admin" in r.json()["detail"]["message"]
    r = client.post("/api/v1/webhooks", json={"url": receiver.url, "project": "nope"})
    assert r.status_code == 404 and "no project named 'nope'" in r.json()["detail"]["message"]
    project_hook = client.post("/api/v1/webhooks", json={"url": receiver.url + "?p", "project": "default"})
    assert project_hook.status_code == 201
    mine = client.post("/api/v1/webhooks", json={"url": receiver.url + "?a"}, headers=member).json()
    client.post(
        "/api/v1/webhooks", json={"url": receiver.url + "?b", "events": ["run.failed"]}, headers=other
    )

    a_run = queued_run(client, member)
    b_run = queued_run(client, other)
    for run_id, who in ((a_run, member), (b_run, other)):
        assert client.post(f"/api/v1/runs/{run_id}/cancel", headers=who).status_code == 200
    assert webhooks.wait_idle(20)
    got = sorted((p["path"][-2:], p["json"]["run"]["id"]) for p in receiver.posts)
    # the project hook hears both runs, member-a's hook only its own, member-b's hook only failures
    assert got == sorted([("?p", a_run), ("?p", b_run), ("?a", a_run)])

    # a member sees and deletes only its own hooks
    assert [h["id"] for h in client.get("/api/v1/webhooks", headers=member).json()["items"]] == [mine["id"]]
    assert client.delete(f"/api/v1/webhooks/{mine['id']}", headers=other).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{mine['id']}", headers=member).status_code == 204
    assert client.get("/api/v1/webhooks", headers=member).json()["items"] == []


def test_sweep_end_is_announced_once_by_its_last_arm(hooks_client, receiver, settings) -> None:
    client = hooks_client
    client.post("/api/v1/webhooks", json={"url": receiver.url, "events": ["sweep.finished"]})
    arms = [queued_run(client), queued_run(client)]
    with session_scope(settings.db_url) as s:
        s.add(Sweep(id="sw1", name="estimator x seed", config_text="{}", grid={"run.seed": [0, 1]}))
        s.flush()
        s.execute(update(Run).where(Run.id.in_(arms)).values(sweep_id="sw1"))
    client.post(f"/api/v1/runs/{arms[0]}/cancel")
    assert webhooks.wait_idle(10) and receiver.posts == []  # one arm still queued: the sweep goes on
    client.post(f"/api/v1/runs/{arms[1]}/cancel")
    assert webhooks.wait_idle(10)
    assert receiver.events() == [("sweep.finished", "sw1")]
    sweep = receiver.posts[0]["json"]["sweep"]
    assert sweep["arms"] == {"cancelled": 2} and "2 cancelled" in receiver.posts[0]["json"]["text"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://example.org/x"}, "url", "http:// or https://"),
        ({"url": "https://user:pw@example.org/x"}, "url", "no user or password"),
        ({"url": "https:///no-host"}, "url", "no host"),
        ({"url": "https://example.org:99999/x"}, "url", "not a valid URL"),
        ({"url": "https://example.org/a b"}, "url", "spaces"),
        ({"url": "https://exa<mple>.org/"}, "url", "the host may hold"),
        ({"url": "https://example.org/caf\u00e9"}, "url", "percent-encode"),
        ({"url": "https://example.org/\u0085x"}, "url", "control characters"),
        ({"url": "https://example.org/x", "events": ["run.exploded"]}, "events", ""),
        ({"url": "https://example.org/x", "events": []}, "events", ""),
        ({"url": "https://example.org/x", "colour": "red"}, "colour", ""),
    ],
)
def test_bad_webhooks_are_refused_and_nothing_is_stored(hooks_client, settings, body, field, words) -> None:
    r = hooks_client.post("/api/v1/webhooks", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["errors"][0]["field"].startswith(field) and words in detail["message"]
    with session_scope(settings.db_url) as s:
        assert s.execute(select(Webhook.id)).first() is None


def test_viewer_may_not_add_webhooks(hooks_client, settings) -> None:
    viewer = as_user(hooks_client, settings, "viewer-v", "viewer")
    r = hooks_client.post("/api/v1/webhooks", json={"url": "https://example.org/x"}, headers=viewer)
    assert r.status_code == 403
    assert hooks_client.get("/api/v1/webhooks", headers=viewer).json()["items"] == []


def test_the_published_url_pattern_is_one_schemathesis_honours() -> None:
    """schemathesis silently drops a `pattern` it cannot translate (it did with surrogate escapes) and then sends
    URLs the API must refuse; every positive body it draws from the published document must match the pattern."""
    import re

    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings

    from api.openapi_dump import openapi_document
    from api.routers.webhooks import URL_PATTERN

    schema = schemathesis.openapi.from_dict(openapi_document())
    op = next(
        r.ok()
        for r in schema.get_all_operations()
        if r.ok().path.endswith("/webhooks") and r.ok().method == "post"
    )
    urls: list[str] = []

    @given(case=op.as_strategy())
    @hsettings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def draw(case) -> None:  # type: ignore[no-untyped-def]
        if case.meta.generation.mode.is_positive and isinstance(case.body, dict):
            urls.append(case.body["url"])

    draw()
    assert len(urls) >= 50
    assert [u for u in urls if not re.fullmatch(URL_PATTERN, u)] == []
