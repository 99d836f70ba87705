"""The Alembic migrations produce exactly the schema of the SQLAlchemy models (PostgreSQL and SQLite)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.db.models import Base
from service.db.session import get_engine, migrate


def _diff(url: str) -> list:
    with get_engine(url).connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def test_postgres_schema_matches_models(pg) -> None:  # type: ignore[no-untyped-def]
    assert _diff(pg.url) == []


def test_sqlite_schema_matches_models_and_migrate_is_idempotent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    migrate(url)
    migrate(url)
    assert _diff(url) == []


# --- 0001 -> head with data: tokens become admin users of `default`, runs get owner and project, nothing lost ---

TOKENS = [("alice", "a1"), ("bob", "b1"), ("alice", "a2")]  # 0001 allowed duplicate names (BUG-13)
RUNS = [("r-alice", "alice"), ("r-bob", "bob"), ("r-nobody", None), ("r-gone", "deleted-token")]


def _upgrade(url: str, revision: str) -> None:
    _alembic("upgrade", url, revision)


def _downgrade(url: str, revision: str) -> None:
    _alembic("downgrade", url, revision)


def _alembic(action: str, url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from service.db.session import MIGRATIONS, DbTuning

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    engine = get_engine(url, DbTuning(pool_size=1, max_overflow=0, statement_timeout_s=0))
    cfg.attributes["engine"] = engine
    try:
        getattr(command, action)(cfg, revision)
    finally:
        engine.dispose()


def _fill_0001(url: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import text

    from service.auth import hash_token

    now = datetime.now(UTC).replace(tzinfo=None)
    with get_engine(url).begin() as conn:
        for name, secret in TOKENS:
            conn.execute(
                text(
                    "INSERT INTO api_tokens (name, token_hash, created_at, revoked) VALUES (:n, :h, :t, :f)"
                ),
                {"n": name, "h": hash_token(f"glab_{secret}"), "t": now, "f": False},
            )
        for run_id, by in RUNS:
            conn.execute(
                text(
                    "INSERT INTO runs (id, name, status, tags, tags_index, config, config_text, findings, queue, "
                    "created_by, created_at, attempts, cancel_requested, step, total_steps, reward_sparkline, "
                    "log_seq, output_dir) VALUES (:id, :id, 'succeeded', '[]', ',', '{}', 'x: 1', '[]', 'cpu', "
                    ":by, :t, 1, :f, 3, 3, '[]', 0, '/tmp/out')"
                ),
                {"id": run_id, "by": by, "t": now, "f": False},
            )
            conn.execute(
                text("INSERT INTO metric_points (run_id, step, metrics) VALUES (:id, 1, '{\"r\": 0.5}')"),
                {"id": run_id},
            )


def _check_migrated(url: str) -> None:
    from sqlalchemy import func, select

    from service.auth import forget_cached, verify_token
    from service.db.models import ApiToken, MetricPoint, Run, User
    from service.db.session import session_scope

    assert _diff(url) == []
    forget_cached()
    with session_scope(url) as s:
        users = {u.name: (u.id, u.role, u.disabled) for u in s.execute(select(User)).scalars()}
        assert {n: r[1:] for n, r in users.items()} == {"alice": ("admin", False), "bob": ("admin", False)}
        tokens = {t.name: t.user_id for t in s.execute(select(ApiToken)).scalars()}
        assert tokens == {"alice": users["alice"][0], "bob": users["bob"][0], "alice (2)": users["alice"][0]}
        runs = {
            r.id: (r.owner_id, r.project, r.created_by, r.archived) for r in s.execute(select(Run)).scalars()
        }
        assert runs == {
            "r-alice": (users["alice"][0], "default", "alice", False),
            "r-bob": (users["bob"][0], "default", "bob", False),
            "r-nobody": (None, "default", None, False),  # no owner: only an admin may change it
            "r-gone": (None, "default", "deleted-token", False),
        }
        assert s.execute(select(func.count()).select_from(MetricPoint)).scalar_one() == len(RUNS)
        # both of alice's old tokens still work, as her
        for secret in ("a1", "a2"):
            identity = verify_token(s, f"glab_{secret}")
            assert identity is not None and (identity.name, identity.role) == ("alice", "admin")
    forget_cached()


def test_migration_from_0001_with_data_on_postgres() -> None:
    from infra import FreshDatabase, postgres_available

    if why := postgres_available():
        pytest.skip(why)
    db = FreshDatabase()
    try:
        _upgrade(db.url, "0001")
        _fill_0001(db.url)
        migrate(db.url)
        _check_migrated(db.url)
    finally:
        db.drop()


def test_migration_from_0001_with_data_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _upgrade(url, "0001")
    _fill_0001(url)
    migrate(url)
    _check_migrated(url)


# --- 0003 -> 0004: a stored sweep gains empty notes and no Idempotency-Key; keys are unique; 0004 downgrades ---


def _check_sweeps_0004(url: str) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    _upgrade(url, "0003")
    now = datetime.now(UTC).replace(tzinfo=None)
    insert = (
        "INSERT INTO sweeps (id, name, project, config_text, grid, created_at, archived) "
        "VALUES (:id, 'old', 'default', 'run: {}', '{\"run.seed\": [0]}', :t, :f)"
    )
    with get_engine(url).begin() as conn:
        conn.execute(text(insert), {"id": "s-old", "t": now, "f": False})
    migrate(url)
    assert _diff(url) == []
    with get_engine(url).begin() as conn:
        row = conn.execute(text("SELECT name, notes, idempotency_key, request_digest FROM sweeps")).one()
        assert tuple(row) == ("old", "", None, None)
        conn.execute(text("UPDATE sweeps SET idempotency_key = 'sha256:k' WHERE id = 's-old'"))
    with pytest.raises(IntegrityError), get_engine(url).begin() as conn:
        conn.execute(text(insert), {"id": "s-twin", "t": now, "f": False})
        conn.execute(text("UPDATE sweeps SET idempotency_key = 'sha256:k' WHERE id = 's-twin'"))
    _downgrade(url, "0003")
    with get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT id, name FROM sweeps")).all() == [("s-old", "old")]


def test_sweeps_0004_on_postgres() -> None:
    from infra import FreshDatabase, postgres_available

    if why := postgres_available():
        pytest.skip(why)
    db = FreshDatabase()
    try:
        _check_sweeps_0004(db.url)
    finally:
        db.drop()


def test_sweeps_0004_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _check_sweeps_0004(f"sqlite:///{tmp_path / 'sweeps.db'}")
