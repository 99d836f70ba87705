"""Worker tests: real API and Celery worker processes on a fresh PostgreSQL database and a private Redis."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from infra import FreshDatabase, Proc, RedisServer, make_token, postgres_available, service_env, start_api


@pytest.fixture(scope="module")
def pg() -> Iterator[FreshDatabase]:
    why = postgres_available()
    if why:
        pytest.skip(why)
    db = FreshDatabase()
    yield db
    db.drop()


@pytest.fixture(scope="module")
def redis_srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    srv = RedisServer(tmp_path_factory.mktemp("redis"))
    yield srv
    srv.stop()


class Stack:
    """The API process, the workers we start, a client with a token."""

    def __init__(self, env: dict[str, str], workdir: Path, base: str, token: str):
        self.env = env
        self.workdir = workdir
        self.base = base
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.workers: list[Proc] = []

    def start_worker(self, queues: str = "cpu") -> Proc:
        n = len(self.workers)
        w = Proc(
            ["worker", "--queues", queues, "--loglevel", "INFO"], self.env, self.workdir / f"worker{n}.log"
        )
        self.workers.append(w)
        return w

    def submit(self, text: str, **kw: object) -> dict:
        r = self.client.post("/api/v1/runs", json={"config_text": text, **kw})
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
def stack(
    pg: FreshDatabase, redis_srv: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack")
    env = service_env(pg.url, redis_srv.url, workdir / "data")
    api, base = start_api(env, workdir / "api.log")
    s = Stack(env, workdir, base, make_token(pg.url))
    yield s
    for w in s.workers:
        w.stop()
    api.stop()
