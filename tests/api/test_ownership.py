"""Users, roles and ownership (issue 14 item 2; BUG-3, BUG-13): two members and an admin (and a viewer) against
the app on PostgreSQL + Redis. Every mutating run endpoint is in the matrix; a refusal is 403 with a reason and
leaves the run as it was."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from infra import make_token, tiny_config
from sqlalchemy import select

from service.db.models import ApiToken, Run, User
from service.db.session import session_scope

Client = Callable[[str], httpx.Client]


@pytest.fixture
def app_client(settings) -> Iterator[Client]:  # type: ignore[no-untyped-def]
    """`as_user(name)`: a client of one app whose requests carry that user's token."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    tag = secrets.token_hex(3)
    roles = {"alice": "member", "bob": "member", "vera": "viewer", "root": "admin"}
    tokens = {n: make_token(settings.db_url, f"{n}-{tag}", role) for n, role in roles.items()}
    with TestClient(create_app(settings), raise_server_exceptions=False) as base:

        def as_user(name: str) -> httpx.Client:
            base.headers["Authorization"] = f"Bearer {tokens[name]}"
            return base

        as_user.tag = tag  # type: ignore[attr-defined]
        yield as_user


def submit(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/v1/runs", json={"config_text": tiny_config(steps=2), **extra})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _cancel(c: httpx.Client, run_id: str) -> httpx.Response:
    return c.post(f"/api/v1/runs/{run_id}/cancel")


def _retry(c: httpx.Client, run_id: str) -> httpx.Response:
    return c.post(f"/api/v1/runs/{run_id}/retry")


def _patch(c: httpx.Client, run_id: str) -> httpx.Response:
    return c.patch(f"/api/v1/runs/{run_id}", json={"notes": "edited", "tags": ["x"], "archived": True})


# (action, how to reach the state the action needs, what a success leaves)
ACTIONS = {
    "cancel": (_cancel, None, {"status": "cancelled"}),
    "retry": (_retry, _cancel, {"status": "queued"}),
    "patch": (_patch, None, {"notes": "edited", "tags": ["x"], "archived": True}),
}
# who acts on alice's run -> the status code
MATRIX = {"alice": 200, "bob": 403, "vera": 403, "root": 200}


@pytest.mark.parametrize("actor", sorted(MATRIX))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_ownership_matrix(app_client: Client, action: str, actor: str) -> None:
    do, prepare, success = ACTIONS[action]
    run = submit(app_client("alice"))
    if prepare is not None:
        assert prepare(app_client("alice"), run["id"]).status_code == 200
    before = app_client("root").get(f"/api/v1/runs/{run['id']}").json()
    r = do(app_client(actor), run["id"])
    assert r.status_code == MATRIX[actor], r.text
    after = app_client("root").get(f"/api/v1/runs/{run['id']}").json()
    if r.status_code == 200:
        assert {k: after[k] for k in success} == success
        if action != "patch":
            assert after["history"][-1]["reason"].endswith(f"by {actor}-{app_client.tag}")  # type: ignore[attr-defined]
    else:
        detail = r.json()["detail"]
        assert detail["code"] == "forbidden"
        reason = "a viewer may only read" if actor == "vera" else f"belongs to 'alice-{app_client.tag}'"  # type: ignore[attr-defined]
        assert reason in detail["message"]
        for key in ("status", "notes", "tags", "archived", "history"):
            assert after[key] == before[key]


@pytest.mark.parametrize(("actor", "expected"), [("alice", 201), ("bob", 201), ("vera", 403), ("root", 201)])
def test_submit_by_role(app_client: Client, settings, actor: str, expected: int) -> None:  # type: ignore[no-untyped-def]
    r = app_client(actor).post("/api/v1/runs", json={"config_text": tiny_config(steps=2)})
    assert r.status_code == expected, r.text
    with session_scope(settings.db_url) as s:
        runs = s.execute(select(Run.created_by, Run.owner_id, Run.project)).all()
    if expected == 403:
        assert "viewer" in r.json()["detail"]["message"] and runs == []
    else:
        name = f"{actor}-{app_client.tag}"  # type: ignore[attr-defined]
        with session_scope(settings.db_url) as s:
            uid = s.execute(select(User.id).where(User.name == name)).scalar_one()
        assert runs == [(name, uid, "default")]
        assert r.json()["owner"] == name and r.json()["project"] == "default"


def test_viewer_reads_everything(app_client: Client) -> None:
    run = submit(app_client("alice"))
    viewer = app_client("vera")
    assert viewer.get(f"/api/v1/runs/{run['id']}").status_code == 200
    assert viewer.get("/api/v1/runs").json()["total"] == 1
    assert viewer.get(f"/api/v1/runs/{run['id']}/metrics").status_code == 200
    me = viewer.get("/api/v1/me").json()
    assert me["role"] == "viewer" and me["name"] == f"vera-{app_client.tag}"  # type: ignore[attr-defined]


def test_list_filters_owner_project_archived(app_client: Client) -> None:
    tag = app_client.tag  # type: ignore[attr-defined]
    admin = app_client("root")
    assert admin.post("/api/v1/projects", json={"name": f"p-{tag}"}).status_code == 201
    a1 = submit(app_client("alice"))
    a2 = submit(app_client("alice"), project=f"p-{tag}")
    b1 = submit(app_client("bob"))
    assert app_client("alice").patch(f"/api/v1/runs/{a1['id']}", json={"archived": True}).status_code == 200

    def ids(**params: Any) -> set[str]:
        return {r["id"] for r in admin.get("/api/v1/runs", params=params).json()["items"]}

    assert ids() == {a2["id"], b1["id"]}  # archived hidden by default
    assert ids(owner=f"alice-{tag}") == {a2["id"]}
    assert ids(owner=f"alice-{tag}", archived="true") == {a1["id"]}
    assert ids(owner=f"alice-{tag}", archived="any") == {a1["id"], a2["id"]}
    assert admin.get("/api/v1/runs", params={"archived": "maybe"}).status_code == 422
    assert ids(project=f"p-{tag}") == {a2["id"]}
    assert ids(project="default", owner=f"bob-{tag}") == {b1["id"]}
    projects = {p["name"]: p["runs"] for p in admin.get("/api/v1/projects").json()["items"]}
    assert projects[f"p-{tag}"] == 1 and projects["default"] == 2


def test_unknown_project_is_422_naming_it_and_nothing_stored(app_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    r = app_client("alice").post("/api/v1/runs", json={"config_text": tiny_config(), "project": "nope"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail["code"] == "unknown_project" and "unknown project 'nope'" in detail["message"]
    assert detail["errors"][0]["field"] == "project"
    assert app_client("root").get("/api/v1/runs").json()["total"] == 0


def test_patch_edits_and_validates(app_client: Client) -> None:
    run = submit(app_client("alice"))
    c = app_client("alice")
    r = c.patch(f"/api/v1/runs/{run['id']}", json={"name": "renamed", "tags": ["a", "a", "b"]})
    assert r.status_code == 200
    assert (r.json()["name"], r.json()["tags"], r.json()["notes"]) == ("renamed", ["a", "b"], "")
    listed = c.get("/api/v1/runs", params={"tag": "b"}).json()["items"]
    assert [x["id"] for x in listed] == [run["id"]]  # the tag index follows the edit
    for body, field in (
        ({"tags": ["bad tag"]}, "tags"),
        ({"name": "a\x1b[2Jb"}, "name"),
        ({"status": "x"}, "status"),
        (
            {"archived": "maybe"},
            "archived",
        ),  # named as the field, not as pydantic's union member `archived.bool`
        ({"tags": "x"}, "tags"),
    ):
        r = c.patch(f"/api/v1/runs/{run['id']}", json=body)
        assert r.status_code == 422, body
        assert [e["field"] for e in r.json()["detail"]["errors"]] == [field], r.text
    assert c.get(f"/api/v1/runs/{run['id']}").json()["name"] == "renamed"


def test_users_and_projects_need_admin(app_client: Client) -> None:
    tag = app_client.tag  # type: ignore[attr-defined]
    for who in ("alice", "vera"):
        assert app_client(who).get("/api/v1/users").status_code == 403
        assert app_client(who).post("/api/v1/users", json={"name": f"x-{tag}"}).status_code == 403
        assert app_client(who).post("/api/v1/projects", json={"name": f"x-{tag}"}).status_code == 403
    assert app_client("vera").get("/api/v1/projects").status_code == 200
    admin = app_client("root")
    r = admin.post("/api/v1/users", json={"name": f"carol-{tag}", "role": "viewer"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["role"], created["token_name"]) == ("viewer", f"carol-{tag}")
    me = admin.get("/api/v1/me", headers={"Authorization": f"Bearer {created['token']}"}).json()
    assert (me["name"], me["role"]) == (f"carol-{tag}", "viewer")
    again = admin.post("/api/v1/users", json={"name": f"carol-{tag}"})
    assert again.status_code == 409 and "exists already" in again.json()["detail"]["message"]
    bad = admin.post("/api/v1/users", json={"name": "carol", "role": "owner"})
    assert bad.status_code == 422 and bad.json()["detail"]["errors"][0]["field"] == "role"
    users = {u["name"]: u for u in admin.get("/api/v1/users").json()["items"]}
    assert users[f"carol-{tag}"]["tokens"] == 1 and users[f"alice-{tag}"]["role"] == "member"
    made = admin.post("/api/v1/projects", json={"name": f"q-{tag}", "description": "for q"})
    assert made.status_code == 201 and (made.json()["description"], made.json()["runs"]) == ("for q", 0)
    again = admin.post("/api/v1/projects", json={"name": f"q-{tag}"})
    assert (
        again.status_code == 409
        and again.json()["detail"]["message"] == f"a project named 'q-{tag}' exists already"
    )
    bad = admin.post("/api/v1/projects", json={"name": "-q"})
    assert bad.status_code == 422 and bad.json()["detail"]["errors"][0]["field"] == "name"


def test_disabled_user_and_revoked_token_get_401(app_client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from service.auth import forget_cached
    from service.users import set_disabled

    tag = app_client.tag  # type: ignore[attr-defined]
    assert app_client("bob").get("/api/v1/me").status_code == 200
    with session_scope(settings.db_url) as s:
        set_disabled(s, f"bob-{tag}")
    r = app_client("bob").get("/api/v1/me")
    assert r.status_code == 401 and "disabled" in r.json()["detail"]["message"]
    assert app_client("alice").get("/api/v1/me").status_code == 200
    with session_scope(settings.db_url) as s:
        s.execute(update(ApiToken).where(ApiToken.name.like(f"alice-{tag}%")).values(revoked=True))
    forget_cached()  # the API's 10 s verification cache, documented
    assert app_client("alice").get("/api/v1/me").status_code == 401


def test_cli_user_project_and_token_commands(
    app_client: Client, settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """`grpolab user add` prints the token alone on stdout; the token works as that user in the API. (The commands
    run in this process, on the test database, to keep the test fast.)"""
    from grpolab.cli import main
    from service.auth import forget_cached

    tag = app_client.tag  # type: ignore[attr-defined]
    monkeypatch.setenv("DATABASE_URL", settings.db_url)
    monkeypatch.setenv("GRPOLAB_DATA_DIR", str(settings.data_dir))

    def cli(*args: str) -> tuple[int, str, str]:
        rc = main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    rc, token, notice = cli("user", "add", f"dana-{tag}", "--role", "viewer")
    assert rc == 0 and token.startswith("glab_") and token.count("\n") == 1 and "viewer" in notice
    token = token.strip()
    rc, out, err = cli("user", "add", f"dana-{tag}")
    assert (rc, out) == (2, "") and "exists already" in err
    assert cli("user", "set-role", f"dana-{tag}", "member")[0] == 0
    assert cli("project", "add", f"lab-{tag}")[0] == 0
    rc, extra, err = cli("token", "create", f"dana-ci-{tag}", "--user", f"dana-{tag}")
    assert rc == 0 and f"for user 'dana-{tag}'" in err
    rc, out, err = cli("token", "create", f"dana-ci-{tag}", "--user", f"dana-{tag}")
    assert (rc, out) == (2, "") and "exists already" in err
    listed = cli("user", "list")[1]
    assert any(line.split()[:4] == [f"dana-{tag}", "member", "active", "2"] for line in listed.splitlines())
    rc, out, err = cli("project", "add", f"lab-{tag}")
    assert (rc, out) == (
        2,
        "",
    ) and err == f"grpolab project add: a project named 'lab-{tag}' exists already\n"
    c = app_client("root")
    for secret in (token, extra.strip()):
        me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
        assert (me["name"], me["role"]) == (f"dana-{tag}", "member") and f"lab-{tag}" in me["projects"]
    auth = {"Authorization": f"Bearer {token}"}
    r = c.post(
        "/api/v1/runs", json={"config_text": tiny_config(steps=2), "project": f"lab-{tag}"}, headers=auth
    )
    assert r.status_code == 201 and (r.json()["owner"], r.json()["project"]) == (f"dana-{tag}", f"lab-{tag}")
    rc, out, _ = cli("project", "list")
    assert rc == 0 and out.splitlines()[0] == f"{'NAME':<24} {'RUNS':>6}  DESCRIPTION"
    assert f"{f'lab-{tag}':<24} {1:>6}  " in out.splitlines()
    assert cli("user", "disable", f"dana-{tag}")[0] == 0
    forget_cached()  # the in-process API's 10 s token cache
    assert c.get("/api/v1/me", headers=auth).status_code == 401


# Every mutating operation of the API, by who may do it. A new POST/PATCH/PUT/DELETE fails
# test_every_mutating_operation_is_classified until it is put here (and its checks tested).
OWNED_RUN = {
    "PATCH /runs/{run_id}",
    "POST /runs/{run_id}/cancel",
    "POST /runs/{run_id}/retry",
    "POST /runs/{run_id}/export",
}
OWNED_SWEEP = {"POST /sweeps/{sweep_id}/cancel", "PATCH /sweeps/{sweep_id}"}
# webhooks: another member's hook is invisible to a member (404), a viewer is refused (403); tests/api/test_webhooks*
OWNED_WEBHOOK = {"DELETE /webhooks/{hook_id}", "POST /webhooks/{hook_id}/test"}
MEMBER_CREATES = {"POST /runs", "POST /sweeps", "POST /webhooks"}
ADMIN_ONLY = {"POST /users", "POST /projects"}
READS_WITH_A_BODY = {"POST /lint", "POST /sweeps/preview"}  # no write: every role


def test_every_mutating_operation_is_classified(app_client: Client) -> None:
    spec = app_client("root").get("/api/v1/openapi.json").json()
    mutating = {
        f"{method.upper()} {path.removeprefix('/api/v1')}"
        for path, ops in spec["paths"].items()
        for method in ops
        if method in ("post", "patch", "put", "delete")
    }
    classes = [OWNED_RUN, OWNED_SWEEP, OWNED_WEBHOOK, MEMBER_CREATES, ADMIN_ONLY, READS_WITH_A_BODY]
    classified = set().union(*classes)
    assert sum(len(c) for c in classes) == len(classified)  # each in one class only
    assert mutating == classified


@pytest.mark.parametrize("actor", sorted(MATRIX))
def test_run_export_and_sweep_cancel_follow_ownership(app_client: Client, actor: str) -> None:
    """The mutating endpoints other routers add on alice's run and sweep refuse bob and vera with 403, and let
    alice and an admin through (export: to the run's own 404, nothing to export yet)."""
    run = submit(app_client("alice"))
    r = app_client(actor).post(f"/api/v1/runs/{run['id']}/export", json={})
    assert (r.status_code == 403) == (MATRIX[actor] == 403), r.text
    if MATRIX[actor] == 200:
        assert r.status_code == 404 and r.json()["detail"]["code"] == "not_found"  # nothing to export yet
    sweep = app_client("alice").post(
        "/api/v1/sweeps",
        json={"name": "own", "config_text": tiny_config(steps=2), "grid": {"run.seed": [0, 1]}},
    )
    assert sweep.status_code == 201, sweep.text
    r = app_client(actor).patch(f"/api/v1/sweeps/{sweep.json()['id']}", json={"archived": True})
    assert r.status_code == MATRIX[actor], r.text
    archived = app_client("root").get(f"/api/v1/sweeps/{sweep.json()['id']}").json()["archived"]
    assert archived == (MATRIX[actor] == 200)
    r = app_client(actor).post(f"/api/v1/sweeps/{sweep.json()['id']}/cancel")
    assert r.status_code == MATRIX[actor], r.text
    if r.status_code == 403:
        assert r.json()["detail"]["code"] == "forbidden"
    counts = app_client("root").get(f"/api/v1/sweeps/{sweep.json()['id']}").json()["counts"]
    assert counts == ({"queued": 2} if MATRIX[actor] == 403 else {"cancelled": 2})
    viewer = app_client("vera")
    assert (
        viewer.post(
            "/api/v1/sweeps", json={"name": "v", "config_text": tiny_config(), "grid": {}}
        ).status_code
        == 403
    )
    assert viewer.post("/api/v1/webhooks", json={"url": "https://example.org/hook"}).status_code == 403
