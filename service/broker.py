"""The one place that talks to the broker: the Celery app's configuration and `enqueue_run`.

The API sends tasks by name, so it never imports the worker package (nor torch through it); the worker builds
its app from the same `make_celery` and registers the task under that name.
"""

from __future__ import annotations

from functools import lru_cache

from celery import Celery
from kombu import Queue
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla

from service.settings import Settings

RUN_TASK = "grpolab.run_training"
EXPORT_TASK = "grpolab.export_checkpoint"  # worker/export_task.py
QUEUES = ("cpu", "gpu")


class _SqlaChannel(kombu_sqla.Channel):
    """kombu 5.7's SQLAlchemy channel hands every transport option to create_engine, which refuses
    `polling_interval`; keep only what SQLAlchemy understands."""

    def _engine_from_config(self):  # type: ignore[no-untyped-def]
        from sqlalchemy import create_engine

        url = self.connection.client.hostname
        return create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})


class SqlaTransport(kombu_sqla.Transport):
    Channel = _SqlaChannel


# `sqla+sqlite:///…` URLs are routed to the subclass above (in the API and in workers alike)
TRANSPORT_ALIASES["grpolabsqla"] = "service.broker:SqlaTransport"


def _broker_url(settings: Settings) -> str:
    url = settings.broker
    return "grpolabsqla+" + url[len("sqla+") :] if url.startswith("sqla+") else url


def queue_for(config: dict) -> str:
    """`resources.gpus > 0` sends a run to the `gpu` queue; everything else runs on `cpu` workers."""
    gpus = (config.get("resources") or {}).get("gpus") or 0
    return "gpu" if gpus > 0 else "cpu"


def make_celery(settings: Settings) -> Celery:
    app = Celery("grpolab", broker=_broker_url(settings), set_as_current=False)
    transport: dict[str, object] = {"visibility_timeout": 3600}
    if settings.broker.startswith("sqla+"):
        # kombu's SQLAlchemy transport polls; its 1 s default would add ~0.5 s to every submit→running
        transport["polling_interval"] = settings.broker_polling_interval_s
    app.conf.update(
        task_queues=[Queue(q, routing_key=q) for q in QUEUES],
        task_default_queue="cpu",
        task_acks_late=True,  # a message is acked only after the run's task returns
        task_reject_on_worker_lost=True,  # a killed worker process puts the message back
        worker_prefetch_multiplier=1,  # a busy worker does not hoard queued runs
        task_ignore_result=True,  # state lives in our database, not in a result backend
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_pool_limit=20,
    )
    return app


@lru_cache(maxsize=4)
def _celery_for(broker: str, polling_interval_s: float) -> Celery:
    return make_celery(Settings(broker_url=broker, broker_polling_interval_s=polling_interval_s))


def _client(settings: Settings) -> Celery:
    """The sending app for these settings, built once: keyed by the only two settings make_celery reads (dumping
    the whole Settings to JSON for a key cost more than a submit's database work)."""
    return _celery_for(settings.broker, settings.broker_polling_interval_s)


def enqueue_run(settings: Settings, run_id: str, queue: str) -> None:
    """Send the run's id to its queue (the task reads everything else from the database)."""
    app = _client(settings)
    app.send_task(RUN_TASK, args=[run_id], queue=queue, routing_key=queue, retry=True)


def enqueue_export(settings: Settings, run_id: str, step: int, queue: str) -> None:
    """Ask a worker of the run's queue to write the merged Hugging Face export of one checkpoint."""
    app = _client(settings)
    app.send_task(EXPORT_TASK, args=[run_id, step], queue=queue, routing_key=queue, retry=True)


def queue_depth(settings: Settings) -> dict[str, int] | None:
    """Messages waiting per queue (Redis: list lengths); None where the broker cannot tell cheaply."""
    if not settings.broker.startswith("redis"):
        return None
    app = _client(settings)
    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        return {q: int(client.llen(q)) for q in QUEUES}


def broker_ok(settings: Settings, timeout: float = 0.5) -> tuple[bool, str]:
    if settings.broker.startswith("redis"):
        # a plain PING with short time-outs: kombu's ensure_connection waits seconds between its retries
        import redis

        try:
            client = redis.Redis.from_url(
                settings.broker, socket_connect_timeout=timeout, socket_timeout=timeout
            )
            with client:
                client.ping()
            return True, "ok"
        except redis.RedisError as exc:
            return False, f"{type(exc).__name__}: {exc}"
    app = _client(settings)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:  # any transport error means "not reachable" to a health check
        return False, f"{type(exc).__name__}: {exc}"
