"""The worker's Celery app: the same configuration as the API's client (service.broker) plus the run task.

Start with `grpolab worker` (or `celery -A worker.celery_app worker -Q cpu`). One run at a time per worker
process (`--pool solo`): the run itself is a child process that uses every core it is given.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

from celery.signals import worker_ready, worker_shutting_down

from service.broker import RUN_TASK, make_celery
from service.db.session import migrate
from service.settings import get_settings
from worker.reaper import start_reaper
from worker.runner import SHUTTING_DOWN, execute_run

log = logging.getLogger("grpolab.worker")
settings = get_settings()
app = make_celery(settings)
_stop_reaper = threading.Event()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@app.task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_training(run_id: str) -> str:
    """Claim the run (a duplicate message finds it claimed and does nothing) and run it to its end."""
    outcome = execute_run(settings, str(run_id), worker_name())
    log.info("run %s: %s", run_id, outcome)
    return outcome


@worker_ready.connect
def _on_ready(**_: object) -> None:
    migrate(settings.db_url)
    start_reaper(settings, _stop_reaper)


@worker_shutting_down.connect
def _on_shutdown(**_: object) -> None:
    SHUTTING_DOWN.set()
    _stop_reaper.set()
