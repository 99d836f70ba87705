"""GET /metrics (auth): Prometheus text — runs by status, queue depth, request latency."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from api.coalesce import Coalescer
from api.deps import CurrentUser, OneThreadRoute, SessionDep, SettingsDep
from service.broker import queue_depth
from service.db.models import Run, RunStatus

router = APIRouter(tags=["metrics"], route_class=OneThreadRoute)


class ApiMetrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "grpolab_http_request_duration_seconds",
            "Request latency by route.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.runs = Gauge("grpolab_runs", "Runs by status.", ["status"], registry=self.registry)
        self.queue = Gauge(
            "grpolab_queue_depth", "Messages waiting per worker queue.", ["queue"], registry=self.registry
        )
        self.reads = Gauge(
            "grpolab_coalesced_reads",
            "Run reads (GET /runs, GET /runs/{id}) by this API process: `queried` ran their own query, `shared` "
            "were answered by an identical read's query that started after they arrived.",
            ["kind"],
            registry=self.registry,
        )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(request: Request, settings: SettingsDep, session: SessionDep, _user: CurrentUser) -> Response:
    m: ApiMetrics = request.app.state.metrics
    counts = {s: n for s, n in session.execute(select(Run.status, func.count()).group_by(Run.status)).all()}
    for status in RunStatus:
        m.runs.labels(status.value).set(counts.get(status.value, 0))
    try:
        depth = queue_depth(settings)
    except Exception:  # broker down: report what we have, not an error
        depth = None
    if depth is None:
        # brokers without cheap queue lengths: runs still waiting to start is the same figure
        depth = {"all": counts.get(RunStatus.QUEUED.value, 0)}
    for q, n in depth.items():
        m.queue.labels(q).set(n)
    reads: Coalescer = request.app.state.reads
    m.reads.labels("queried").set(reads.queries)
    m.reads.labels("shared").set(reads.shared)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
