"""API tests: the FastAPI app in-process (TestClient) on a fresh PostgreSQL database and a private Redis."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from infra import FreshDatabase, RedisServer, make_token, postgres_available


@pytest.fixture(scope="session")
def pg() -> Iterator[FreshDatabase]:
    why = postgres_available()
    if why:
        pytest.skip(why)
    db = FreshDatabase()
    from service.db.session import migrate

    migrate(db.url)
    yield db
    db.drop()


@pytest.fixture(scope="session")
def redis_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


@pytest.fixture
def settings(pg: FreshDatabase, redis_srv: RedisServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from service.db.session import get_engine
    from service.settings import Settings

    with get_engine(pg.url).begin() as conn:  # every test starts from empty tables
        conn.execute(text("TRUNCATE runs, run_events, metric_points, log_lines CASCADE"))
    import redis

    redis.Redis(port=redis_srv.port).flushall()
    # quotas off (tests send many requests from one token); tests/api/test_quotas.py turns them on
    return Settings(
        data_dir=tmp_path / "data",
        database_url=pg.url,
        broker_url=redis_srv.url,
        rate_limit_per_s=0,
        max_queued_runs_per_user=0,
    )


@pytest.fixture
def client(settings):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from api.app import create_app

    token = make_token(settings.db_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        yield c
