"""A `ray` worker whose cluster does not answer: the run goes back to the queue (the cluster may be back for the
next attempt) and fails with the reason once it has used its attempts. Real PostgreSQL and Redis; no Ray process
(the address has nothing behind it). A few seconds."""

from __future__ import annotations

import pytest
from infra import insert_run, migrated_settings
from sqlalchemy import select

from service.db.models import Run, RunEvent
from service.db.session import session_scope
from worker.executors.ray_job import RayExecutor
from worker.runner import RunSupervisor

pytestmark = [pytest.mark.services]


def test_an_unreachable_cluster_requeues_then_fails(pg, redis_srv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = migrated_settings(pg.url, redis_srv.url, tmp_path, max_attempts=2)
    nowhere = RayExecutor("http://127.0.0.1:9")  # the discard port: nothing answers
    run_id = insert_run(settings.db_url, settings.data_dir)
    assert RunSupervisor(settings, run_id, "w:1", executor=nowhere).execute() == "requeued"
    with session_scope(settings.db_url) as s:
        run = s.get(Run, run_id)
        assert run is not None and run.status == "queued" and run.attempts == 1
        assert (run.executor, run.nodes, run.ranks) == ("ray", 1, 1)
        reasons = s.execute(select(RunEvent.reason).where(RunEvent.run_id == run_id).order_by(RunEvent.id))
        last = list(reasons.scalars())[-1]
    assert "the ray executor could not submit the run" in last and "requeued" in last
    assert redis_srv.llen("cpu") >= 1  # sent again

    assert RunSupervisor(settings, run_id, "w:1", executor=nowhere).execute() == "failed"
    with session_scope(settings.db_url) as s:
        run = s.get(Run, run_id)
        assert run is not None and run.status == "failed"
        assert run.error and "attempt 2 of 2; giving up" in run.error
