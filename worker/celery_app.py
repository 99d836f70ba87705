"""The worker's Celery app: the same configuration as the API's client (service.broker) plus the run task.

Start with `grpolab worker` (or `celery -A worker.celery_app worker -Q cpu`). One run at a time per worker
process (`--pool solo`): the run itself is a child process that uses every core it is given.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from celery.signals import worker_ready, worker_shutting_down

from service.broker import RUN_TASK, make_celery
from service.db.session import migrate
from service.settings import get_settings
from worker.export_task import register_export_task
from worker.reaper import start_reaper
from worker.registry import Registration
from worker.runner import SHUTTING_DOWN, execute_run

log = logging.getLogger("grpolab.worker")
settings = get_settings()
app = make_celery(settings)
register_export_task(app, settings)  # a checkpoint as a Hugging Face folder (POST /runs/{id}/export)
_stop_reaper = threading.Event()
_registration: Registration | None = None


def worker_name() -> str:
    """The Celery node name once the worker is ready: the `workers` row and runs.worker then agree, which is
    how GET /workers finds a worker's current run. Before that (tests calling the task directly): host:pid."""
    if _registration is not None:
        return _registration.name
    return f"{socket.gethostname()}:{os.getpid()}"


@app.task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training(run_id: str) -> str:
    """Claim the run (a duplicate message finds it claimed and does nothing) and run it to its end."""
    outcome = execute_run(settings, str(run_id), worker_name())
    log.info("run %s: %s", run_id, outcome)
    return outcome


def _consumed_queues(consumer: Any) -> list[str]:
    queues = getattr(getattr(consumer, "app", app).amqp.queues, "consume_from", None) or {}
    return sorted(queues) or ["cpu"]


@worker_ready.connect
def _on_ready(sender: Any = None, **_: object) -> None:
    global _registration
    migrate(settings.db_url)
    start_reaper(settings, _stop_reaper)
    name = str(getattr(sender, "hostname", None) or f"{socket.gethostname()}:{os.getpid()}")
    registration = Registration(settings, name, _consumed_queues(sender))
    try:
        registration.start()
        _registration = registration
    except Exception:  # the worker still runs; it is just not listed until it restarts
        log.exception("could not register worker %s", name)


@worker_shutting_down.connect
def _on_shutdown(**_: object) -> None:
    SHUTTING_DOWN.set()
    _stop_reaper.set()
    if _registration is not None:
        _registration.stop()
