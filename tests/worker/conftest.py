"""Worker tests: real API and Celery worker processes on a fresh PostgreSQL database and a private Redis."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from infra import FreshDatabase, RedisServer, ServiceStack, pg, redis_srv

__all__ = ["pg", "redis_srv"]  # the module-scoped fixtures of tests/service/infra.py, shared with tests/ray


@pytest.fixture(scope="module")
def stack(
    pg: FreshDatabase, redis_srv: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceStack]:
    s = ServiceStack(pg.url, redis_srv.url, tmp_path_factory.mktemp("stack"))
    yield s
    s.stop()
