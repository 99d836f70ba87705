"""Sweeps on PostgreSQL with the Redis broker: grid expansion, every arm linted before anything is stored,
ownership, and the seed statistics checked against numbers computed by hand."""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

import pytest
from infra import make_token  # tests/service (put on sys.path by conftest)
from sqlalchemy import func, insert, select, text

from api.sweep_grid import expand, key_problem
from api.sweep_stats import describe, t_quantile
from service.db.models import MetricPoint, Run, RunStatus, Sweep

BASE = "algorithm:\n  group_size: 4\nrollout:\n  batch_size: 8\nrun:\n  steps: 3\n  eval_episodes: 0\n"
GRID = {"algorithm.estimator": ["grpo", "rloo"], "run.seed": [0, 1, 2]}
# Student t 0.975 quantiles from a printed table (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2)
T975 = {1: 12.706, 2: 4.303, 4: 2.776, 9: 2.262, 29: 2.045}


@pytest.fixture
def empty(settings):  # type: ignore[no-untyped-def]
    """No sweeps left by an earlier test (the shared fixture empties runs only)."""
    from service.db.session import get_engine

    with get_engine(settings.db_url).begin() as conn:
        conn.execute(text("TRUNCATE sweeps CASCADE"))
    return settings


def counts(settings) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(sweeps, runs, broker messages): what a refused sweep must leave at zero."""
    import redis

    from service.db.session import session_scope

    with session_scope(settings.db_url) as s:
        sweeps = int(s.execute(select(func.count()).select_from(Sweep)).scalar_one())
        runs = int(s.execute(select(func.count()).select_from(Run)).scalar_one())
    r = redis.Redis.from_url(settings.broker)
    return sweeps, runs, int(r.llen("cpu") + r.llen("gpu"))


def as_user(client, settings, name: str, role: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {make_token(settings.db_url, name, role)}"}


def test_expansion_order_and_key_check() -> None:
    arms = expand({"a.x": [1, 2], "b.y": ["p", "q", "r"]})
    assert len(arms) == 6 and arms[0] == {"a.x": 1, "b.y": "p"} and arms[1] == {"a.x": 1, "b.y": "q"}
    assert arms[5] == {"a.x": 2, "b.y": "r"}
    assert key_problem("algorithm.estimator") is None
    assert key_problem("env.kwargs.size") is None  # a free-form mapping: any key below it
    assert "did you mean 'algorithm.estimator'" in (key_problem("algorithm.estimater") or "")
    assert "is a value, not a section" in (key_problem("run.seed.x") or "")


def test_example_sweep_file_reads_into_a_3x3_grid() -> None:
    from pathlib import Path

    from grpolab.commands.sweep import read_sweep_file

    body = read_sweep_file(
        Path(__file__).resolve().parents[2] / "examples" / "sweeps" / "estimator-x-seed.yaml"
    )
    assert body["grid"] == {"algorithm.estimator": ["grpo", "drgrpo", "rloo"], "run.seed": [0, 1, 2]}
    assert body["config_text"].startswith("# title: Tiny CPU demo")  # config_file, relative to the sweep file
    assert len(expand(body["grid"])) == 9


def test_a_sweep_file_key_typo_gets_a_did_you_mean(tmp_path) -> None:
    from grpolab.commands.sweep import SweepFileError, read_sweep_file

    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: x\nconfig: {}\ngird:\n  run.seed: [0, 1]\nbogus: 1\n")
    with pytest.raises(SweepFileError) as err:
        read_sweep_file(sweep)
    assert str(err.value) == (
        f"{sweep}: unknown keys 'bogus', 'gird' (did you mean 'grid'?); "
        "a sweep file has allow, config, config_file, grid, name, project, tags"
    )


def test_t_quantiles_match_the_printed_table() -> None:
    for df, expected in T975.items():
        assert round(t_quantile(0.975, df), 3) == expected
    # a large df approaches the normal quantile 1.95996
    assert abs(t_quantile(0.975, 100_000) - 1.95996) < 1e-4


def test_describe_by_hand() -> None:
    d = describe([0.2, 0.5, 0.8])
    assert d is not None
    # mean 0.5; deviations -0.3, 0, 0.3 → s² = 0.18 / 2 = 0.09, s = 0.3; half = 4.303 * 0.3 / √3 = 0.74530
    assert d.n == 3 and d.mean == pytest.approx(0.5) and d.std == pytest.approx(0.3)
    assert d.ci_low == pytest.approx(0.5 - 0.74530, abs=1e-4)
    assert d.ci_high == pytest.approx(0.5 + 0.74530, abs=1e-4)
    same = describe([-0.1, -0.1, -0.1])  # equal seeds: no spread at all (a naive mean leaves 4e-17)
    assert same is not None and same.std == 0.0 and same.mean == same.ci_low == same.ci_high == -0.1
    one = describe([0.7])
    assert one is not None and one.n == 1 and one.std is None and one.ci_low is None


def test_create_expands_grid_into_linked_queued_runs(client, empty) -> None:
    r = client.post("/api/v1/sweeps", json={"name": "est x seed", "config_text": BASE, "grid": GRID})
    assert r.status_code == 201, r.text
    sweep = r.json()
    assert sweep["runs"] == 6 and sweep["counts"] == {"queued": 6} and sweep["status"] == "queued"
    arms = [run["sweep_arm"] for run in sweep["items"]]
    assert arms == expand(GRID)  # arm order: the grid's expansion
    first = sweep["items"][0]
    assert (
        first["sweep_id"] == sweep["id"]
        and first["name"] == 'est x seed · algorithm.estimator="grpo", run.seed=0'
    )
    assert sweep["owner"] == "tester" and sweep["project"] == "default"
    assert counts(empty) == (1, 6, 6)
    detail = client.get(f"/api/v1/runs/{sweep['items'][4]['id']}").json()
    assert detail["config"]["algorithm"]["estimator"] == "rloo" and detail["config"]["run"]["seed"] == 1
    assert detail["config"]["rollout"]["batch_size"] == 8  # the base config under the overrides
    assert detail["sweep_arm"] == {"algorithm.estimator": "rloo", "run.seed": 1}
    assert detail["config_text"].startswith(
        "# sweep 'est x seed', arm 4: algorithm.estimator=\"rloo\", run.seed=1\n"
    )
    listed = client.get("/api/v1/sweeps").json()
    assert listed["total"] == 1 and listed["items"][0]["counts"] == {"queued": 6}


def test_gl001_arm_refused_with_nothing_stored_then_allowed(client, empty) -> None:
    grid = {"algorithm.norm_return": [False, True], "run.seed": [0, 1]}
    body: dict[str, Any] = {"name": "norm", "config_text": BASE, "grid": grid}
    r = client.post("/api/v1/sweeps", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["code"] == "lint_failed"
    assert "2 of 4 arms refused, nothing stored" in detail["message"]
    assert "arm 2 (algorithm.norm_return=true, run.seed=0)" in detail["message"]
    gl001 = [f for f in detail["findings"] if f["rule"] == "GL001"]
    assert [f["arm"] for f in gl001] == [2, 3]
    # the arm sets norm_return itself (not a default), and the base text has no line for an overridden key
    assert all(not f["from_default"] and f["line"] is None for f in gl001)
    assert counts(empty) == (0, 0, 0)

    preview = client.post("/api/v1/sweeps/preview", json=body).json()
    assert preview["count"] == 4 and preview["ok"] is False
    assert [a["ok"] for a in preview["arms"]] == [True, True, False, False]
    assert counts(empty) == (0, 0, 0)  # a preview stores nothing either

    body["allow"] = [{"rule": "GL001", "reason": "ablation of the second normalization"}]
    r = client.post("/api/v1/sweeps", json=body)
    assert r.status_code == 201, r.text
    run = client.get(f"/api/v1/runs/{r.json()['items'][3]['id']}").json()
    assert any(f["rule"] == "GL001" and f["allowed"] for f in run["findings"])
    assert counts(empty) == (1, 4, 4)


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ({"algorithm.estimater": ["grpo"]}, "did you mean 'algorithm.estimator'"),
        ({"run.seed": []}, "grid key 'run.seed' has no values"),
        ({"run.seed": [1, 1]}, "lists 1 twice"),
        (
            {"run.seed": list(range(11)), "optim.lr": [0.001 * (i + 1) for i in range(10)]},
            "expands to 110 runs",
        ),
        ({}, "the grid is empty"),
        # hostile grids: a 900-deep value (under the body's nesting limit), 100,000 values, a 5,000-character key,
        # a 40,000-entry value (refused as POST /runs refuses it, its arm named and cut short)
        ({"env.kwargs.x": [json.loads("[" * 900 + "]" * 900)]}, "nests deeper than 32 levels"),
        ({"run.seed": list(range(100_000))}, "has 100,000 values"),
        ({"a" * 5000: [1]}, "5,000 characters; config keys are short dotted paths"),
        (
            {"env.kwargs": [{f"k{i}": i for i in range(40_000)}]},
            "env.kwargs has 40,000 entries; the limit is 256",
        ),
    ],
    ids=[
        "unknown",
        "empty-values",
        "duplicate",
        "too-many",
        "no-keys",
        "deep",
        "100k-values",
        "long-key",
        "big-arm",
    ],
)
def test_bad_grid_is_422_naming_the_key(client, empty, grid, needle) -> None:
    body = json.dumps({"name": "bad", "config_text": BASE, "grid": grid})  # json.dumps: the client recurses
    r = client.post("/api/v1/sweeps", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text[:500]
    assert needle in r.json()["detail"]["message"]
    assert r.json()["detail"]["code"] in {"invalid_grid", "invalid_config"}
    first = r.json()["detail"]["errors"][0]
    # a grid problem names the grid key; an arm's config problem names its field and the arm
    assert first["field"].startswith("grid") or first["message"].startswith("arm 0 (env.kwargs={")
    assert len(r.json()["detail"]["message"]) < 2000  # a huge key or value is cut in the message
    assert counts(empty) == (0, 0, 0)


def test_invalid_arm_value_and_base_syntax_are_422(client, empty) -> None:
    r = client.post(
        "/api/v1/sweeps",
        json={"name": "v", "config_text": BASE, "grid": {"algorithm.group_size": [4, "many"]}},
    )
    assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_config"
    assert 'arm 1 (algorithm.group_size="many")' in r.json()["detail"]["errors"][0]["message"]
    r = client.post("/api/v1/sweeps", json={"name": "s", "config_text": "run: [\n", "grid": GRID})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "config_text"
    r = client.post(
        "/api/v1/sweeps", json={"name": "p", "config_text": BASE, "grid": GRID, "project": "nope"}
    )
    assert r.status_code == 422 and r.json()["detail"]["code"] == "unknown_project"
    assert counts(empty) == (0, 0, 0)


def test_ownership_viewer_member_admin(client, empty) -> None:
    settings = empty
    viewer = as_user(client, settings, "vera", "viewer")
    alice = as_user(client, settings, "alice", "member")
    bob = as_user(client, settings, "bob", "member")
    body = {"name": "own", "config_text": BASE, "grid": {"run.seed": [0, 1]}}
    r = client.post("/api/v1/sweeps", json=body, headers=viewer)
    assert r.status_code == 403 and "viewer" in r.json()["detail"]["message"]
    assert (
        client.post("/api/v1/sweeps/preview", json=body, headers=viewer).status_code == 200
    )  # reading is fine
    mine = client.post("/api/v1/sweeps", json=body, headers=alice).json()
    assert mine["owner"] == "alice"
    r = client.post(f"/api/v1/sweeps/{mine['id']}/cancel", headers=bob)
    assert r.status_code == 403 and "belongs to" in r.json()["detail"]["message"]
    assert client.post(f"/api/v1/sweeps/{mine['id']}/cancel", headers=viewer).status_code == 403
    r = client.post(f"/api/v1/sweeps/{mine['id']}/cancel", headers=alice)
    assert (
        r.status_code == 200 and r.json()["counts"] == {"cancelled": 2} and r.json()["status"] == "finished"
    )
    other = client.post("/api/v1/sweeps", json=body, headers=bob).json()
    r = client.post(f"/api/v1/sweeps/{other['id']}/cancel")  # the admin cancels anyone's
    assert r.status_code == 200 and r.json()["counts"] == {"cancelled": 2}
    assert client.post("/api/v1/sweeps/nosuch/cancel").status_code == 404


def test_quota_counts_every_run_of_the_sweep(empty) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    limited = empty.model_copy(update={"max_queued_runs_per_user": 4})
    with TestClient(create_app(limited), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {make_token(empty.db_url)}"
        r = c.post("/api/v1/sweeps", json={"name": "q", "config_text": BASE, "grid": GRID})
        assert r.status_code == 429 and r.json()["detail"]["code"] == "quota_exceeded"
        assert "this adds 6" in r.json()["detail"]["message"]
        assert counts(empty) == (0, 0, 0)
        r = c.post("/api/v1/sweeps", json={"name": "q", "config_text": BASE, "grid": {"run.seed": [0, 1]}})
        assert r.status_code == 201
        # no worker runs here: the submitter is told at once why the runs will wait
        assert r.json()["warnings"] and r.json()["items"][0]["waiting_reason"] == r.json()["warnings"][0]


def test_idempotency_key_gives_one_sweep_and_its_runs_once(client, empty) -> None:
    settings = empty
    body = {"name": "idem", "config_text": BASE, "grid": GRID, "tags": ["t1"]}
    key = {"Idempotency-Key": "sweep-key-1"}
    first = client.post("/api/v1/sweeps", json=body, headers=key)
    assert first.status_code == 201, first.text
    assert counts(settings) == (1, 6, 6)
    again = client.post("/api/v1/sweeps", json=body, headers=key)  # a retry after a dropped connection
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert [r["id"] for r in again.json()["items"]] == [r["id"] for r in first.json()["items"]]
    assert again.json()["warnings"] == first.json()["warnings"] != []  # no worker here: the runs will wait
    assert counts(settings) == (1, 6, 6)  # no second sweep, no run stored or queued twice
    # leaving out a default is the same body; the key is the user's, so another user's same key is its own
    assert client.post("/api/v1/sweeps", json={**body, "allow": []}, headers=key).status_code == 200
    bob = as_user(client, settings, "bob", "member")
    other = client.post("/api/v1/sweeps", json=body, headers={**key, **bob})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert counts(settings) == (2, 12, 12)
    for change in ({"grid": {"run.seed": [0, 1]}}, {"tags": ["t2"]}, {"name": "idem 2"}):
        r = client.post("/api/v1/sweeps", json={**body, **change}, headers=key)
        assert r.status_code == 409, (change, r.text)
        detail = r.json()["detail"]
        assert detail["code"] == "idempotency_key_reused"
        assert f"was used for sweep {first.json()['id']} with a different body" in detail["message"]
    # a refused body is refused for what it is, before the key is looked at (as POST /runs)
    r = client.post("/api/v1/sweeps", json={**body, "grid": {"run.sed": [0]}}, headers=key)
    assert r.status_code == 422 and r.json()["detail"]["code"] == "invalid_grid"
    assert counts(settings) == (2, 12, 12)
    # renamed and archived since: a retry still finds it (the key and the body it was made from are kept)
    client.patch(f"/api/v1/sweeps/{first.json()['id']}", json={"name": "renamed", "archived": True})
    r = client.post("/api/v1/sweeps", json=body, headers=key)
    assert r.status_code == 200 and (r.json()["id"], r.json()["name"]) == (first.json()["id"], "renamed")
    assert client.post("/api/v1/sweeps", json=body).status_code == 201  # no key: a new sweep each time
    assert counts(settings) == (3, 18, 18)


def test_idempotency_retry_at_the_quota_gets_the_sweep(empty) -> None:
    """The first attempt's runs fill the user's quota; its retry is answered with the sweep, not a 429."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    limited = empty.model_copy(update={"max_queued_runs_per_user": 6})
    with TestClient(create_app(limited), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {make_token(empty.db_url)}"
        body = {"name": "q", "config_text": BASE, "grid": GRID}
        first = c.post("/api/v1/sweeps", json=body, headers={"Idempotency-Key": "k"})
        assert first.status_code == 201, first.text
        again = c.post("/api/v1/sweeps", json=body, headers={"Idempotency-Key": "k"})
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
        fresh = c.post("/api/v1/sweeps", json=body, headers={"Idempotency-Key": "k2"})
        assert fresh.status_code == 429 and fresh.json()["detail"]["code"] == "quota_exceeded"
        assert counts(empty) == (1, 6, 6)


# who changes alice's sweep -> the status code (the rule of PATCH /runs/{id}: api.deps.ensure_can_modify)
PATCH_MATRIX = {"alice": 200, "bob": 403, "vera": 403, "admin": 200}


def test_patch_rename_notes_archive_follows_ownership(client, empty) -> None:
    settings = empty
    users = {
        "alice": as_user(client, settings, "alice", "member"),
        "bob": as_user(client, settings, "bob", "member"),
        "vera": as_user(client, settings, "vera", "viewer"),
        "admin": {},  # the client's own token
    }
    body = {"name": "own", "config_text": BASE, "grid": {"run.seed": [0, 1]}}
    sweep = client.post("/api/v1/sweeps", json=body, headers=users["alice"]).json()
    assert (sweep["notes"], sweep["archived"]) == ("", False)
    url = f"/api/v1/sweeps/{sweep['id']}"
    runs_before = [client.get(f"/api/v1/runs/{r['id']}").json() for r in sweep["items"]]
    for actor, expected in PATCH_MATRIX.items():
        change = {"name": f"by {actor}", "notes": f"**{actor}** was here", "archived": True}
        r = client.patch(url, json=change, headers=users[actor])
        assert r.status_code == expected, (actor, r.text)
        after = client.get(url).json()
        if expected == 200:
            assert {k: r.json()[k] for k in change} == change
            assert {k: after[k] for k in change} == change
            client.patch(url, json={"archived": False}, headers=users[actor])
        else:
            detail = r.json()["detail"]
            assert detail["code"] == "forbidden"
            why = "a viewer may only read" if actor == "vera" else f"sweep {sweep['id']} belongs to 'alice'"
            assert why in detail["message"]
            assert after["name"] != f"by {actor}" and after["notes"] != change["notes"]
    # fields left out stay; the grid, the config and the runs never change here
    r = client.patch(url, json={"notes": ""}, headers=users["alice"])
    assert r.status_code == 200 and (r.json()["name"], r.json()["notes"]) == ("by admin", "")
    assert r.json()["grid"] == {"run.seed": [0, 1]} and r.json()["config_text"] == BASE
    assert [client.get(f"/api/v1/runs/{r['id']}").json() for r in sweep["items"]] == runs_before
    for bad, field in (
        ({"name": "a\x1b[2Jb"}, "name"),
        ({"name": ""}, "name"),
        ({"notes": "x" * 20_001}, "notes"),
        ({"grid": {"run.seed": [3]}}, "grid"),
        ({"archived": "maybe"}, "archived"),
    ):
        r = client.patch(url, json=bad, headers=users["alice"])
        assert r.status_code == 422, bad
        # (a bad `archived` is named `archived.bool`, the branch of its optional type, as on PATCH /runs)
        assert r.json()["detail"]["errors"][0]["field"].removesuffix(".bool") == field
    assert client.patch("/api/v1/sweeps/nosuch", json={"notes": "x"}).status_code == 404
    assert client.get(url).json()["name"] == "by admin"


def test_list_hides_archived_sweeps_unless_asked(client, empty) -> None:
    body = {"config_text": BASE, "grid": {"run.seed": [0]}}
    kept, archived = (client.post("/api/v1/sweeps", json={**body, "name": n}).json() for n in ("kept", "old"))
    assert client.patch(f"/api/v1/sweeps/{archived['id']}", json={"archived": True}).status_code == 200

    def listed(**params: Any) -> tuple[list[str], int]:
        r = client.get("/api/v1/sweeps", params=params).json()
        return [s["name"] for s in r["items"]], r["total"]

    assert listed() == (["kept"], 1)
    assert listed(archived="false") == (["kept"], 1)
    assert listed(archived="true") == (["old"], 1)
    assert listed(archived="any") == (["old", "kept"], 2)  # newest first
    r = client.get("/api/v1/sweeps", params={"archived": "maybe"})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "archived"
    # archiving a sweep leaves its runs in the runs list (they are archived on their own)
    assert client.get("/api/v1/runs").json()["total"] == 2
    assert client.get(f"/api/v1/sweeps/{archived['id']}").json()["archived"] is True
    assert kept["archived"] is False


def _finish(settings, run_ids: list[str], series: dict[str, list[float]]) -> None:  # type: ignore[no-untyped-def]
    from service.db.lifecycle import transition
    from service.db.session import session_scope

    with session_scope(settings.db_url) as s:
        for run_id in run_ids:
            values = series.get(run_id, [])
            if values:
                s.execute(
                    insert(MetricPoint),
                    [
                        {"run_id": run_id, "step": i + 1, "metrics": {"rollout/reward_mean": v}}
                        for i, v in enumerate(values)
                    ],
                )
            transition(s, run_id, RunStatus.RUNNING, "test")
            transition(s, run_id, RunStatus.SUCCEEDED, "test")


def test_summary_bands_and_final_table_by_hand(client, empty) -> None:
    sweep = client.post("/api/v1/sweeps", json={"name": "st", "config_text": BASE, "grid": GRID}).json()
    ids = [r["id"] for r in sweep["items"]]  # grpo seeds 0,1,2 then rloo seeds 0,1,2
    series = {
        ids[0]: [0.1, 0.2, 0.3],
        ids[1]: [0.3, 0.4, 0.6],
        ids[2]: [0.2, 0.6],  # this seed logged two steps only
        ids[3]: [0.5, 0.5, 0.9],
    }
    _finish(empty, ids[:4], series)  # rloo seeds 1 and 2 stay queued
    s = client.get(f"/api/v1/sweeps/{sweep['id']}/summary", params={"metric": "rollout/reward_mean"}).json()
    grpo, rloo = s["groups"]
    assert grpo["label"] == 'algorithm.estimator="grpo"' and grpo["seeds"] == [0, 1, 2]
    band = {p["step"]: p for p in grpo["bands"]["rollout/reward_mean"]}
    # step 2: values 0.2, 0.4, 0.6 → mean 0.4, s = 0.2, half-width 4.303 * 0.2 / √3 = 0.49687
    assert (
        band[2]["n"] == 3 and band[2]["mean"] == pytest.approx(0.4) and band[2]["std"] == pytest.approx(0.2)
    )
    assert band[2]["ci_high"] - band[2]["mean"] == pytest.approx(0.49687, abs=1e-4)
    # step 3: only two seeds logged it, 0.3 and 0.6 → mean 0.45, s = 0.2121, half = 12.706 * 0.2121 / √2
    assert band[3]["n"] == 2 and band[3]["mean"] == pytest.approx(0.45)
    assert band[3]["std"] == pytest.approx(statistics.stdev([0.3, 0.6]))
    assert band[3]["ci_high"] - band[3]["mean"] == pytest.approx(
        12.706 * 0.3 / math.sqrt(2) / math.sqrt(2), rel=1e-4
    )
    final = grpo["final"]["rollout/reward_mean"]
    # each run's last value: 0.3, 0.6, 0.6 → mean 0.5, s = √(0.03) = 0.17321, half = 4.303 * 0.17321 / √3
    assert final["values"] == pytest.approx([0.3, 0.6, 0.6]) and final["n"] == 3
    assert final["mean"] == pytest.approx(0.5) and final["std"] == pytest.approx(math.sqrt(0.03))
    assert final["ci_low"] == pytest.approx(0.5 - 4.303 * math.sqrt(0.03) / math.sqrt(3), abs=2e-4)
    one = rloo["final"]["rollout/reward_mean"]  # one succeeded seed: a mean, no interval, and why
    assert one["n"] == 1 and one["mean"] == pytest.approx(0.9) and one["ci_low"] is None
    assert "one seed" in one["note"]
    assert rloo["statuses"] == ["succeeded", "queued", "queued"]
    assert [p["n"] for p in rloo["bands"]["rollout/reward_mean"]] == [1, 1, 1]


@pytest.fixture
def live(empty):  # type: ignore[no-untyped-def]
    """The app served over HTTP (uvicorn in a thread) for the CLI, and an admin token."""
    import threading

    import uvicorn
    from infra import free_port, wait_for

    from api.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(empty), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 20, "uvicorn did not start")
    yield f"http://127.0.0.1:{port}", make_token(empty.db_url)
    server.should_exit = True
    thread.join(10)


def test_idempotent_twins_sent_at_once_make_one_sweep(live, empty) -> None:  # type: ignore[no-untyped-def]
    """Four copies of one keyed create over HTTP at the same moment: one sweep and its runs, each answer that sweep."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    url, token = live
    body = {"name": "twins", "config_text": BASE, "grid": {"run.seed": [0, 1, 2]}}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "twin"}

    def send(_: int) -> httpx.Response:
        return httpx.post(f"{url}/api/v1/sweeps", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 201], [r.text[:200] for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert counts(empty) == (1, 3, 3)


def test_cli_sweep_dry_run_submit_and_ablate_server(live, empty, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from grpolab.cli import main

    url, token = live
    (tmp_path / "base.yaml").write_text(BASE)
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(
        "name: cli sweep\nconfig_file: base.yaml\ngrid:\n  algorithm.norm_return: [false, true]\n  run.seed: [0, 1]\n"
    )
    conn = ["--url", url, "--token", token]
    assert main(["sweep", str(sweep_file), "--dry-run", *conn]) == 1  # the norm_return arms are refused
    out = capsys.readouterr().out
    assert "ok      arm 0: algorithm.norm_return=false, run.seed=0" in out
    assert "REFUSED arm 2: algorithm.norm_return=true, run.seed=0" in out and "GL001" in out
    assert "4 runs; 2 arm(s) refused" in out
    assert main(["sweep", str(sweep_file), *conn]) == 1
    err = capsys.readouterr().err
    assert (
        "2 of 4 arms refused, nothing stored" in err
        and "arm 3 (algorithm.norm_return=true, run.seed=1)" in err
    )
    assert counts(empty) == (0, 0, 0)

    sweep_file.write_text(sweep_file.read_text().replace("[false, true]", "[false]"))
    assert main(["sweep", str(sweep_file), *conn]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].endswith("algorithm.norm_return=False, run.seed=0")
    sweep = lines[-1]
    # a re-run with the key of a call whose connection broke gets that call's sweep, not a second one
    keyed = [main(["sweep", str(sweep_file), *conn, "--idempotency-key", "cli-k"]) for _ in range(2)]
    outs = capsys.readouterr().out.strip().splitlines()
    assert keyed == [0, 0] and len(outs) == 6 and outs[:3] == outs[3:] and outs[2] != sweep
    assert counts(empty) == (2, 4, 4)
    from infra import free_port

    closed = ["--url", f"http://127.0.0.1:{free_port()}", "--token", token]
    assert main(["sweep", str(sweep_file), *closed]) == 1
    err = capsys.readouterr().err
    # nothing listens: the request never left, so no key to re-run with (tests/api/test_cli_connection.py has
    # a server that drops the connection after the request)
    assert "cannot reach" in err and "may have been stored" not in err

    assert (
        main(["ablate", "double-norm", "--seeds", "2", "--steps", "3", "--server", url, "--token", token])
        == 0
    )
    ablation = capsys.readouterr().out.strip().splitlines()[-1]
    import httpx

    detail = httpx.get(f"{url}/api/v1/sweeps/{ablation}", headers={"Authorization": f"Bearer {token}"}).json()
    # the 2 × 2 factorial × 2 seeds; GL001/GL006 acknowledged for every arm
    assert detail["runs"] == 8 and detail["grid"]["rollout.subsample.unit"] == ["none", "transitions"]
    double = httpx.get(
        f"{url}/api/v1/runs/{detail['items'][6]['id']}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert double["sweep_arm"] == {
        "rollout.subsample.unit": "transitions",
        "algorithm.norm_return": True,
        "run.seed": 0,
    }
    assert {f["rule"] for f in double["findings"] if f["allowed"]} >= {"GL001", "GL006"}
    assert double["config"]["rollout"]["subsample"]["size"] == 200
    assert sweep != ablation
