"""The reaper on PostgreSQL: stale runs are requeued, failed after max_attempts, or cancelled; fresh ones kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from infra import insert_run, migrated_settings

from service.db.lifecycle import transition
from service.db.models import Run, RunEvent, RunStatus, utcnow
from service.db.session import session_scope
from service.settings import Settings
from worker.reaper import reap_lost


@pytest.fixture
def settings(pg, tmp_path, redis_srv) -> Settings:  # type: ignore[no-untyped-def]
    return migrated_settings(pg.url, redis_srv.url, tmp_path, heartbeat_timeout_s=5, max_attempts=2)


def running_run(settings: Settings, *, attempts: int, age_s: float, cancel: bool = False) -> str:
    run_id = insert_run(settings.db_url, settings.data_dir, attempts=attempts - 1)
    with session_scope(settings.db_url) as s:
        transition(s, run_id, RunStatus.RUNNING, "started", worker="gone:1")
        s.get(Run, run_id).heartbeat_at = utcnow() - timedelta(seconds=age_s)  # type: ignore[union-attr]
        s.get(Run, run_id).cancel_requested = cancel  # type: ignore[union-attr]
    return run_id


def state(settings: Settings, run_id: str) -> tuple[str, str, str | None]:
    from sqlalchemy import select

    with session_scope(settings.db_url) as s:
        run = s.get(Run, run_id)
        last = s.execute(
            select(RunEvent.reason).where(RunEvent.run_id == run_id).order_by(RunEvent.id.desc()).limit(1)
        ).scalar_one()
        assert run is not None
        return run.status, last, run.error


def test_reaper_decisions(settings: Settings, redis_srv) -> None:  # type: ignore[no-untyped-def]
    fresh = running_run(settings, attempts=1, age_s=1)
    requeue = running_run(settings, attempts=1, age_s=60)
    give_up = running_run(settings, attempts=2, age_s=60)
    cancel = running_run(settings, attempts=1, age_s=60, cancel=True)
    changed = dict(reap_lost(settings))
    assert fresh not in changed
    assert state(settings, fresh)[0] == "running"
    status, reason, _ = state(settings, requeue)
    assert status == "queued" and "requeued to resume from its last checkpoint" in reason
    assert redis_srv.llen("cpu") >= 1  # and sent to its queue again
    status, reason, error = state(settings, give_up)
    assert status == "failed" and "attempt 2 of 2; giving up" in reason and error == reason
    assert state(settings, cancel)[0] == "cancelled"
    assert reap_lost(settings) == []  # nothing left to do: reaping is idempotent


def test_a_worker_shutting_down_hands_a_new_message_back(settings: Settings) -> None:
    """A run message taken after the worker was asked to shut down is not claimed (attempts stay 0, no start
    event) and goes back to its queue in Redis for another worker."""
    import redis

    from worker.runner import SHUTTING_DOWN, execute_run

    run_id = insert_run(settings.db_url, settings.data_dir)
    client = redis.Redis.from_url(settings.broker)
    before = client.llen("cpu")
    SHUTTING_DOWN.set()
    try:
        assert execute_run(settings, run_id, "leaving@host") == "handed back"
    finally:
        SHUTTING_DOWN.clear()
    with session_scope(settings.db_url) as s:
        run = s.get(Run, run_id)
        assert run is not None and (run.status, run.attempts, run.worker) == ("queued", 0, None)
    assert client.llen("cpu") == before + 1
    message = client.lindex("cpu", 0)
    assert message is not None and run_id.encode() in message
