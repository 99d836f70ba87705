"""The submit path on PostgreSQL: autocommit and one INSERT statement for the run and its first history row
(service.runs.insert_new_run), storing exactly what the two-statement path stores."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import tiny_config
from sqlalchemy import Engine, create_engine, event, select

from service.db.models import Base, Run, RunEvent, utcnow
from service.db.session import get_engine


@dataclass
class _Prepared:
    name: str = "same-row"
    tags: list[str] = field(default_factory=lambda: ["a", "b"])
    config: dict[str, Any] = field(
        default_factory=lambda: {"run": {"steps": 3}, "model": {"id": "builtin:char-tiny"}}
    )
    config_text: str = "run:\n  steps: 3\n"
    findings: list[dict[str, Any]] = field(
        default_factory=lambda: [{"rule": "GL000", "severity": "info", "message": "m"}]
    )
    queue: str = "cpu"
    output_subdir: str | None = None


def _stored(engine: Any, run_id: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    with engine.connect() as conn:
        row = conn.execute(select(Run.__table__).where(Run.id == run_id)).mappings().one()
        events = conn.execute(select(RunEvent.status, RunEvent.reason).where(RunEvent.run_id == run_id)).all()
    return {k: v for k, v in row.items() if k != "id"}, [tuple(e) for e in events]


def test_one_statement_insert_stores_what_two_statements_store(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from service.runs import insert_new_run, new_run_row

    now = utcnow().replace(microsecond=0)
    common = {"owner_name": "ada", "owner_id": None, "now": now, "project": "default"}
    pg_values = new_run_row(settings, _Prepared(), **common, waiting_reason="no worker")
    pg = get_engine(settings.db_url)
    with pg.begin() as conn:
        insert_new_run(conn, pg_values, "submitted by ada")

    lite = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    Base.metadata.create_all(lite)
    lite_values = {**pg_values, "id": "sqliterun0001"}
    with lite.begin() as conn:
        insert_new_run(conn, lite_values, "submitted by ada")

    on_pg, pg_events = _stored(pg, pg_values["id"])
    on_lite, lite_events = _stored(lite, "sqliterun0001")
    assert pg_events == lite_events == [("queued", "submitted by ada")]
    on_pg["created_at"] = on_pg["created_at"].replace(tzinfo=None)
    on_pg["enqueued_at"] = on_pg["enqueued_at"].replace(tzinfo=None)
    on_lite["created_at"] = on_lite["created_at"].replace(tzinfo=None)
    on_lite["enqueued_at"] = on_lite["enqueued_at"].replace(tzinfo=None)
    assert on_pg == on_lite
    assert on_pg["tags"] == ["a", "b"] and on_pg["findings"][0]["rule"] == "GL000"
    assert on_pg["waiting_reason"] == "no worker" and on_pg["total_steps"] == 3


def test_a_submit_on_postgresql_writes_in_autocommit_with_one_insert(client, settings) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, str, bool]] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        autocommit = bool(conn.connection.dbapi_connection.autocommit)
        seen.append((threading.get_ident(), statement.split()[0].upper(), autocommit))

    client.post("/api/v1/runs", json={"config_text": tiny_config(steps=1)})  # warms the caches
    # on every engine: the app's engine is whichever get_engine's cache held when its sessionmaker was made
    event.listen(Engine, "before_cursor_execute", record)
    try:
        r = client.post("/api/v1/runs", json={"config_text": tiny_config(steps=1), "name": "autocommit"})
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert r.status_code == 201, r.text
    inserts = [s for s in seen if s[1] in ("INSERT", "WITH")]
    # the run and its history row: one statement, in autocommit
    assert [(verb, autocommit) for _, verb, autocommit in inserts] == [("WITH", True)], seen
    submit = [
        s for s in seen if s[0] == inserts[0][0]
    ]  # what the submit's thread sent (not a background refresher)
    assert submit and all(autocommit for _, _, autocommit in submit), seen
    history = client.get(f"/api/v1/runs/{r.json()['id']}").json()["history"]
    assert [(h["status"], h["reason"]) for h in history] == [("queued", "submitted by tester")]
