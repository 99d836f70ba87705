"""Engines and sessions, one engine per database URL (and sizing) per process; migrations applied on start.

Sizing rule (docs/service.md): the pool holds at least as many connections as there are worker threads, and a
connection is only ever held inside one thread hop, so a thread never waits for a connection that another
request holds while it waits for a thread. Time-outs bound every wait: connecting, each statement, a
transaction left idle, and a checkout from the pool.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API read while the worker writes; busy_timeout waits instead of "database is locked"
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@dataclass(frozen=True)
class DbTuning:
    """How many connections an engine keeps and how long anything may wait for the database."""

    pool_size: int = 16  # = the API's worker threads (Settings.api_threads): no thread waits for a connection
    max_overflow: int = 4  # headroom for callers outside the thread limiter (start-up, tests, the CLI)
    pool_timeout_s: float = 10.0  # a checkout that waits longer answers 503 instead of hanging
    connect_timeout_s: int = 5  # libpq's minimum is 2
    statement_timeout_s: float = 30.0  # server side: a runaway query is cancelled
    idle_in_transaction_timeout_s: float = 60.0  # server side: a transaction left open is ended

    def pg_connect_args(self) -> dict[str, Any]:
        options = (
            f"-c statement_timeout={int(self.statement_timeout_s * 1000)} "
            f"-c idle_in_transaction_session_timeout={int(self.idle_in_transaction_timeout_s * 1000)}"
        )
        # keepalives: a database host that vanished (no RST) is noticed in ~1 min rather than hours
        return {
            "connect_timeout": self.connect_timeout_s,
            "options": options,
            # pg_stat_activity then says which process holds a connection
            "application_name": f"grpolab-{os.getpid()}",
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }


DEFAULT_TUNING = DbTuning()
# /healthz: its own connection, so that it answers whatever the main pool is doing
HEALTH_TUNING = DbTuning(
    pool_size=1, max_overflow=1, pool_timeout_s=0.5, connect_timeout_s=2, statement_timeout_s=1.0
)


@lru_cache(maxsize=16)
def get_engine(url: str, tuning: DbTuning = DEFAULT_TUNING) -> Engine:
    pool = {
        "pool_size": tuning.pool_size,
        "max_overflow": tuning.max_overflow,
        "pool_timeout": tuning.pool_timeout_s,
    }
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # no pre-ping: it costs a round trip per request (a third of a submit's time under load); a connection
    # broken by a database restart fails one statement and the pool then drops it (and all older ones)
    return create_engine(url, pool_recycle=1800, connect_args=tuning.pg_connect_args(), **pool)


@lru_cache(maxsize=16)
def get_autocommit_engine(url: str, tuning: DbTuning = DEFAULT_TUNING) -> Engine:
    """The same pool as get_engine, its connections in autocommit while checked out (reset on return).

    For work that is one statement at a time and needs no transaction around them (the API's reads, a submit
    whose writes are one statement): psycopg otherwise sends BEGIN before the first statement and the pool a
    ROLLBACK at the end, two extra round trips for each request."""
    return get_engine(url, tuning).execution_options(isolation_level="AUTOCOMMIT")


@lru_cache(maxsize=16)
def get_sessionmaker(url: str, tuning: DbTuning = DEFAULT_TUNING) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url, tuning), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def migrate(url: str) -> None:
    """Bring the database to the newest schema (Alembic `upgrade head`)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    # a schema change may take longer than an API statement is allowed to: no statement time-out here
    engine = get_engine(url, DbTuning(pool_size=1, max_overflow=0, statement_timeout_s=0))
    cfg.attributes["engine"] = engine
    try:
        command.upgrade(cfg, "head")
    finally:
        engine.dispose()
