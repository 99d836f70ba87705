"""Alembic environment: run migrations on the engine handed over by service.db.session.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from service.db.models import Base

config = context.config
target_metadata = Base.metadata

# Several processes (API, workers) migrate on start: on PostgreSQL one advisory lock serialises them.
_LOCK_ID = 0x6772706F


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
            connection.commit()
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # batch migrations copy and drop tables: with foreign keys on, the drop would cascade to child rows
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if sqlite:
                connection.execute(text("PRAGMA foreign_keys=ON"))
                connection.commit()
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                connection.commit()


run_migrations_online()
