"""`grpolab webhook` as a user runs it: separate CLI processes against a real `grpolab api` process (PostgreSQL),
delivering to a real local HTTP server; the URL's secret never appears in what the CLI prints."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from infra import ROOT, FreshDatabase, RedisServer, make_token, service_env, start_api
from sqlalchemy import text
from test_webhooks import SECRET_PATH, Receiver

pytestmark = [pytest.mark.services]


@dataclass
class Api:
    url: str
    member: str
    admin: str
    viewer: str


@pytest.fixture(scope="module")
def api(pg: FreshDatabase, redis_srv: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    from service.db.session import get_engine

    with get_engine(pg.url).begin() as conn:  # the webhook tests before this module leave theirs
        conn.execute(text("TRUNCATE webhooks CASCADE"))
    workdir = tmp_path_factory.mktemp("webhook-cli")
    proc, base = start_api(service_env(pg.url, redis_srv.url, workdir / "data"), workdir / "api.log")
    try:
        yield Api(
            base,
            make_token(pg.url, "cli-member", "member"),
            make_token(pg.url, "cli-admin", "admin"),
            make_token(pg.url, "cli-viewer", "viewer"),
        )
    finally:
        proc.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def grpolab(api: Api, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`grpolab webhook ARGS` in its own process, the server and token from the environment (GRPOLAB_URL/TOKEN)."""
    env = {**service_env("", "", Path("/nonexistent")), "GRPOLAB_URL": api.url, "GRPOLAB_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "grpolab", "webhook", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def listed(api: Api, token: str) -> list[dict]:
    done = grpolab(api, token, "list", "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def test_add_list_test_and_remove_with_the_secret_masked(api: Api, receiver: Receiver) -> None:
    added = grpolab(api, api.member, "add", receiver.url, "--events", "run.failed, run.cancelled")
    assert added.returncode == 0, added.stderr
    hook_id = int(added.stdout)
    port = receiver.server.server_port
    assert f"webhook {hook_id} added: http://127.0.0.1:{port}/…tXYZ (runs of cli-member; " in added.stderr

    table = grpolab(api, api.member, "list")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split()[:4] == ["ID", "URL", "(masked)", "SCOPE"]
    assert row.split() == [
        str(hook_id),
        f"http://127.0.0.1:{port}/…tXYZ",
        "runs",
        "of",
        "cli-member",
        "run.failed,run.cancelled",
        "never",
        "sent",
    ]

    tried = grpolab(api, api.member, "test", str(hook_id))
    assert tried.returncode == 0, tried.stderr
    assert tried.stdout == f"webhook {hook_id}: test message delivered\n"
    (post,) = receiver.posts
    body = post["json"]
    assert post["path"] == SECRET_PATH and body["event"] == "test"
    assert body["text"] == f"GRPO Lab: test message for webhook {hook_id}, sent by cli-member"
    assert body["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": body["text"]}}
    ]  # Slack's
    (hook,) = listed(api, api.member)
    assert hook["last_sent_at"] is not None and hook["last_error"] is None
    assert hook["events"] == ["run.failed", "run.cancelled"]

    # an admin sees it too, and its project webhook beside it
    project = grpolab(api, api.admin, "add", receiver.url + "?all", "--project", "default", "--json")
    assert project.returncode == 0, project.stderr
    project_hook = json.loads(project.stdout)
    assert project_hook["project"] == "default" and project_hook["user"] is None
    assert [h["id"] for h in listed(api, api.admin)] == [hook_id, project_hook["id"]]
    assert "project default" in grpolab(api, api.admin, "list").stdout

    every_output = added.stdout + added.stderr + table.stdout + tried.stdout + project.stdout
    assert SECRET_PATH not in every_output and "s3cr3t" not in every_output

    removed = grpolab(api, api.member, "rm", str(hook_id))
    assert (removed.returncode, removed.stdout) == (0, f"webhook {hook_id} removed\n")
    assert listed(api, api.member) == []
    assert grpolab(api, api.admin, "rm", str(project_hook["id"])).returncode == 0
    gone = grpolab(api, api.member, "rm", str(hook_id))
    assert gone.returncode == 1 and gone.stderr == f"error: no webhook with id {hook_id}\n"
    empty = grpolab(api, api.member, "list")
    assert (empty.returncode, empty.stdout) == (0, "")
    assert "no webhooks (add one: grpolab webhook add URL)" in empty.stderr


def test_a_failed_test_message_says_why_and_exits_1(api: Api, receiver: Receiver) -> None:
    hook_id = grpolab(api, api.member, "add", receiver.url).stdout.strip()
    receiver.fail_first = 3  # every try answers 500 (the server waits 1 s, then 2 s, between tries)
    tried = grpolab(api, api.member, "test", hook_id)
    port = receiver.server.server_port
    assert tried.returncode == 1
    assert tried.stderr == f"webhook {hook_id}: not delivered: HTTP 500 from http://127.0.0.1:{port}/…\n"
    (hook,) = listed(api, api.member)
    assert hook["last_error"] == f"HTTP 500 from http://127.0.0.1:{port}/…"
    assert f"failed {hook['last_sent_at']}: HTTP 500" in grpolab(api, api.member, "list").stdout
    assert grpolab(api, api.member, "rm", hook_id).returncode == 0


@pytest.mark.parametrize(
    ("who", "args", "says"),
    [
        ("member", ["add", "ftp://example.org/x"], "  url: use an http:// or https:// URL"),
        ("member", ["add", "https://user:pw@example.org/x"], "  url: put no user or password in the URL"),
        ("member", ["add", "https://example.org/x", "--events", "run.exploded"], "  events.0: "),
        ("member", ["add", "https://example.org/x", "--project", "default"], "only an admin may add"),
        ("admin", ["add", "https://example.org/x", "--project", "nope"], "project: no project named 'nope'"),
        ("viewer", ["add", "https://example.org/x"], "error: "),
        ("member", ["test", "999"], "error: no webhook with id 999"),
    ],
)
def test_refusals_print_the_field_and_exit_1_without_a_traceback(
    api: Api, who: str, args: list[str], says: str
) -> None:
    done = grpolab(api, getattr(api, who), *args)
    assert done.returncode == 1 and done.stdout == ""
    assert says in done.stderr and "Traceback" not in done.stderr
    assert listed(api, api.admin) == []  # nothing stored


def test_usage_errors_are_caught_before_the_server(api: Api) -> None:
    done = grpolab(api, api.member, "rm", "three")
    assert done.returncode == 2
    assert "argument ID: a webhook id is a number (see `grpolab webhook list`), not 'three'" in done.stderr
    done = grpolab(api, api.member, "add", "https://example.org/x", "--events", " , ")
    assert done.returncode == 2 and "name at least one event" in done.stderr
