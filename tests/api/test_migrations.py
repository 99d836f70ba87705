"""The Alembic migrations produce exactly the schema of the SQLAlchemy models (PostgreSQL and SQLite)."""

from __future__ import annotations

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
