"""Hostile input: every case answers 4xx with a message that names the problem, and writes nothing."""

from __future__ import annotations

import json

import pytest
from test_runs import count_runs, queued_messages

BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b]\n"
)


def nested(n: int) -> dict:
    d: dict = {}
    cur = d
    for _ in range(n):
        cur["k"] = {}
        cur = cur["k"]
    return d


CASES = [
    ("deep_nesting_object", {"config": {"env": {"kwargs": nested(100)}}}, 422, "deeper than"),
    ("yaml_alias_bomb", {"config_text": BOMB}, 422, "anchors and aliases"),
    ("deep_nesting_text", {"config_text": "a: " * 0 + "[" * 1000 + "]" * 1000}, 422, "deeper than"),
    ("unknown_key", {"config": {"algorithm": {"norm_retrun": True}}}, 422, "unknown key 'norm_retrun'"),
    ("absolute_model_path", {"config": {"model": {"path": "/etc/passwd"}}}, 422, "absolute path"),
    ("dotdot_model_path", {"config": {"model": {"path": "models/../../secret"}}}, 422, "'..'"),
    ("absolute_output_dir", {"config": {"run": {"output_dir": "/tmp/elsewhere"}}}, 422, "absolute path"),
    ("dotdot_output_dir", {"config_text": "run:\n  output_dir: ../../x\n"}, 422, "'..'"),
    ("home_output_dir", {"config": {"run": {"output_dir": "~/x"}}}, 422, "'~'"),
    ("trust_remote_code", {"config": {"model": {"trust_remote_code": True}}}, 422, "trust_remote_code"),
    ("config_not_object", {"config": [1, 2]}, 422, "config"),
    ("text_not_mapping", {"config_text": "- 1\n- 2\n"}, 422, "mapping"),
    ("bad_tag", {"config": {}, "tags": ["no spaces allowed"]}, 422, "tag"),
    ("extra_body_key", {"config": {}, "evil": 1}, 422, "evil"),
    # reliability-2026-11.md §5c: these used to answer 500 (one after storing a poison row)
    ("yaml_5000_digit_int", {"config_text": "run:\n  steps: " + "9" * 5000 + "\n"}, 422, "cannot be read"),
    ("nul_in_name", {"name": "a\u0000b", "config": {}}, 422, "name: the value contains a NUL"),
    ("long_output_dir", {"config": {"run": {"output_dir": "d" * 2000}}}, 422, "the limit is 255"),
    (
        "long_output_dir_segments",
        {"config": {"run": {"output_dir": "/".join(["d" * 200] * 10)}}},
        422,
        "characters",
    ),
    ("surrogate_in_kwargs", {"config": {"env": {"kwargs": {"s": "\udfff"}}}}, 422, "env.kwargs.s"),
    ("surrogate_in_name", {"name": "x\ud800", "config": {}}, 422, "surrogate"),
    # §5d: accepted before, then failed on a worker
    ("env_id_shell", {"config": {"env": {"id": "game:GuessTheNumber-v0-easy; rm -rf / #"}}}, 422, "env.id"),
    ("env_id_subst", {"config": {"env": {"id": "$(touch x)`id`"}}}, 422, "not a registered gem environment"),
    ("env_id_module", {"config": {"env": {"id": "os:system"}}}, 422, "not a registered gem environment"),
    (
        "builtin_traversal",
        {"config": {"model": {"path": "builtin:../../etc/passwd"}}},
        422,
        "unknown built-in",
    ),
    ("builtin_unknown", {"config": {"model": {"path": "builtin:huge"}}}, 422, "builtin:tiny-char"),
    ("model_path_segment_300", {"config": {"model": {"path": "m/" + "x" * 300}}}, 422, "the limit is 255"),
    ("kwargs_int_10e100", {"config": {"env": {"kwargs": {"n": 10**100}}}}, 422, "beyond 64 bits"),
    ("nul_in_kwargs", {"config": {"env": {"kwargs": {"s": "a\u0000"}}}}, 422, "env.kwargs.s"),
    (
        "kwargs_40k",
        {"config": {"env": {"kwargs": {f"k{i}": i for i in range(40_000)}}}},
        422,
        "env.kwargs has 40,000",
    ),
    ("yaml_custom_tag_on_mapping", {"config_text": "env: !foo\n  id: x\n"}, 422, "tag !foo"),
    ("yaml_custom_tag_on_scalar", {"config_text": "run:\n  steps: !foo 3\n"}, 422, "tag !foo"),
    ("escape_in_name", {"name": "ok\r\u001b[2K\u001b[32mabc  succeeded", "config": {}}, 422, "U+000D"),
    ("rtl_override_in_name", {"name": "abc\u202egnp.exe", "config": {}}, 422, "U+202E"),
    ("neither_config", {"name": "x"}, 422, "exactly one"),
]


@pytest.mark.parametrize(("case", "body", "status", "needle"), CASES, ids=[c[0] for c in CASES])
def test_hostile_body_refused(client, settings, case, body, status, needle) -> None:
    # json.dumps escapes as \uXXXX, so lone surrogates travel as a browser or curl would send them
    r = client.post("/api/v1/runs", content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    text = detail["message"] + " " + " ".join(e["message"] for e in detail["errors"])
    assert needle in text, text
    assert count_runs(settings) == 0
    assert queued_messages(settings) == 0
    assert not (settings.data_dir / "runs").exists()


@pytest.mark.parametrize(
    ("case", "raw", "status", "needle"),
    [
        # the last value wins in Python's parser: this queued a 9,999,999-step run
        ("duplicate_key", '{"config": {"run": {"steps": 5, "steps": 9999999}}}', 422, "config.run.steps"),
        ("duplicate_top_key", '{"config": {}, "config": {"x": 1}}', 422, "appears more than once"),
        ("not_json", '{"config": ', 400, "not valid JSON"),
        ("json_5000_digit_int", '{"config": {"run": {"steps": ' + "9" * 5000 + "}}}", 400, "not valid JSON"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "",
)
def test_hostile_raw_body_refused(client, settings, case, raw, status, needle) -> None:
    r = client.post("/api/v1/runs", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    text = detail["message"] + " " + " ".join(e["field"] + ": " + e["message"] for e in detail["errors"])
    assert needle in text, text
    assert count_runs(settings) == 0
    assert queued_messages(settings) == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/runs", {"q": "a\x00b"}),
        ("/api/v1/runs", {"tag": "a\x00"}),
        ("/api/v1/runs/%00", None),
        ("/api/v1/runs/%00/metrics", None),
        ("/api/v1/runs/%00/logs", None),
        ("/api/v1/runs/%00/events", None),
    ],
)
def test_nul_in_query_and_run_id_is_422(client, path, params) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    field = r.json()["detail"]["errors"][0]["field"]
    assert field in {"q", "tag", "run_id"}
    for action in ("cancel", "retry"):
        assert client.post(f"/api/v1/runs/%00/{action}").status_code == 422


def test_files_given_as_folders_are_refused(client, settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "first-token").write_text("secret")
    for body, field in [
        ({"config": {"model": {"path": "first-token"}}}, "model.path"),
        ({"config": {"run": {"output_dir": "first-token"}}}, "run.output_dir"),
    ]:
        r = client.post("/api/v1/runs", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"]["errors"][0]["field"] == field
        assert "names a file" in r.json()["detail"]["message"]
    assert count_runs(settings) == 0


def test_known_env_ids_and_builtin_model_are_accepted(client, settings) -> None:
    for env_id in ("grpolab:GuessNumber-v0-n8", "game:GuessTheNumber-v0-easy", "rg:chain_sum"):
        r = client.post("/api/v1/runs", json={"config": {"env": {"id": env_id}, "run": {"steps": 1}}})
        assert r.status_code == 201, (env_id, r.text)
    assert count_runs(settings) == 3


def test_env_id_snapshot_matches_gem_registry() -> None:
    """api/gem_env_ids.py is gem's live registry (plus GRPO Lab's games); regenerate with
    `python -m api.env_registry` when this fails."""
    from api.env_registry import live_env_ids
    from api.gem_env_ids import ENV_IDS

    assert sorted(ENV_IDS) == live_env_ids()


def test_builtin_models_match_the_trainer() -> None:
    """api.submission.BUILTIN_MODELS = the built-in models training/models.py defines (read with Python's own
    parser: importing that module would import torch)."""
    import ast
    from pathlib import Path

    from api.submission import BUILTIN_MODELS

    tree = ast.parse((Path(__file__).resolve().parents[2] / "training" / "models.py").read_text())
    builtins = {
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and str(node.value.value).startswith("builtin:")
    }
    assert builtins == BUILTIN_MODELS


def test_ui_pages_carry_security_headers(settings, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<html></html>")
    with TestClient(create_app(settings.model_copy(update={"frontend_dist": dist}))) as c:
        for path in ("/", "/runs/abc", "/index.html"):
            h = c.get(path).headers
            assert "frame-ancestors 'none'" in h["content-security-policy"]
            assert "script-src 'self'" in h["content-security-policy"]
            assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"


def test_deep_nesting_in_json_body(client, settings) -> None:
    raw = '{"config": {"env": {"kwargs": ' + '{"k": ' * 1000 + "{}" + "}" * 1000 + "}}}"
    r = client.post("/api/v1/runs", content=raw, headers={"content-type": "application/json"})
    # Python's JSON parser gives up before our depth check: still a 4xx that says why
    assert r.status_code in (400, 422), r.text
    assert (
        "nests too deeply" in r.json()["detail"]["message"] or "deeper than" in r.json()["detail"]["message"]
    )
    assert count_runs(settings) == 0


def test_nan_in_json_body(client, settings) -> None:
    raw = '{"config": {"optim": {"lr": NaN}, "env": {"kwargs": {"x": Infinity}}}}'
    r = client.post("/api/v1/runs", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["detail"]["errors"]}
    assert {"optim.lr", "env.kwargs.x"} <= fields
    assert count_runs(settings) == 0


def test_nan_in_yaml(client, settings) -> None:
    r = client.post("/api/v1/runs", json={"config_text": "optim:\n  lr: .nan\n"})
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["line"] == 2
    assert count_runs(settings) == 0


def test_ten_megabyte_body(client, settings) -> None:
    body = json.dumps({"config_text": "#" * 10_000_000})
    r = client.post("/api/v1/runs", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["detail"]["code"] == "too_large"
    assert count_runs(settings) == 0


def test_chunked_body_over_limit(client, settings) -> None:
    def chunks():  # no Content-Length: the limit is enforced while reading
        yield b'{"config_text": "'
        for _ in range(30):
            yield b"#" * 100_000
        yield b'"}'

    r = client.post("/api/v1/runs", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert count_runs(settings) == 0


def test_lint_endpoint_over_limit(client) -> None:
    r = client.post("/api/v1/lint", json={"config_text": "#" * 1_100_000})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "missing token"),
        ("Bearer glab_wrong", "invalid or revoked token"),
        ("Basic dXNlcjpwYXNz", "malformed"),
        ("Bearer ", "malformed"),
    ],
)
def test_auth_refused(client, settings, header, message) -> None:
    headers = {"Authorization": header} if header is not None else {}
    saved = client.headers.pop("Authorization")
    try:
        for method, path in [
            ("POST", "/api/v1/runs"),
            ("GET", "/api/v1/runs"),
            ("GET", "/api/v1/me"),
            ("GET", "/api/v1/metrics"),
            ("GET", "/api/v1/schema/run-config"),
        ]:
            r = client.request(
                method, path, headers=headers, json={"config": {}} if method == "POST" else None
            )
            assert r.status_code == 401, (path, r.text)
            assert message in r.json()["detail"]["message"]
            assert r.headers["www-authenticate"] == "Bearer"
            assert "glab_wrong" not in r.text  # a presented secret is never echoed
    finally:
        client.headers["Authorization"] = saved
    assert count_runs(settings) == 0


def test_trust_remote_code_allowed_by_operator(settings) -> None:
    from fastapi.testclient import TestClient
    from infra import make_token

    from api.app import create_app

    allowed = settings.model_copy(update={"allow_trust_remote_code": True})
    with TestClient(create_app(allowed)) as c:
        c.headers["Authorization"] = f"Bearer {make_token(settings.db_url)}"
        r = c.post("/api/v1/runs", json={"config": {"model": {"trust_remote_code": True}}})
        assert r.status_code == 201, r.text


def test_safe_relative_output_dir_stays_inside(client, settings) -> None:
    r = client.post("/api/v1/runs", json={"config": {"run": {"output_dir": "sweeps/a"}}})
    assert r.status_code == 201, r.text
    from service.db.models import Run
    from service.db.session import session_scope

    with session_scope(settings.db_url) as s:
        out = s.get(Run, r.json()["id"]).output_dir
    assert out.startswith(str((settings.data_dir / "sweeps" / "a").resolve()))


def test_cli_runs_table_neutralises_terminal_escapes() -> None:
    """Names stored before the API refused control characters still cannot rewrite `grpolab runs` (BUG-10)."""
    from grpolab.commands.runs import format_row

    fake = "ok\r\x1b[2K\x1b[32mabc123  succeeded   30/30  0.99  totally-legit\x1b[0m"
    row = format_row(
        {
            "id": "f00",
            "status": "failed",
            "step": 1,
            "total_steps": 30,
            "last_reward": None,
            "name": fake + "\u202e",
        }
    )
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in row)
    assert row.endswith("ok\\r\\x1b[2K\\x1b[32mabc123  succeeded   30/30  0.99  totally-legit\\x1b[0m\\u202e")
    assert row.startswith("f00") and "failed" in row
