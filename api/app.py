"""The FastAPI application: routers under /api/v1, one error shape, body limit, latency metrics, the web UI.

`create_app(settings)` applies the migrations, so starting the API is enough to get a working database.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.coalesce import ARRIVED_KEY, Coalescer
from api.routers import artifacts as artifact_routes
from api.routers import auth, events, health, lint, metrics, runs, schema, sweeps
from api.routers import projects as project_routes
from api.routers import users as user_routes
from api.routers import webhooks as webhook_routes
from api.routers import workers as worker_routes
from service.db.session import migrate
from service.settings import Settings, get_settings

_NO_TELEMETRY: Any = {"tracing": False, "metrics": False, "logs": False}

log = logging.getLogger("grpolab.api")
API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 1_000_000
ROOT = Path(__file__).resolve().parents[1]

DESCRIPTION = """\
GRPO Lab's REST API. Submit a run config; it is validated and linted *before* anything launches (a config with an
error finding not acknowledged in `lint.allow` is refused with 422 and the findings), then queued on a worker that
runs the fixed GRPO pipeline and streams metrics and logs back.

Every endpoint but `/healthz` needs `Authorization: Bearer <token>` (`grpolab token create NAME`). Errors always
have the shape `{"detail": {"code", "message", "errors": [...], "findings": [...]}}`.
"""


class BodyLimit:
    """413 for bodies over 1 MB, checked on Content-Length and while streaming (chunked uploads)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = errors.error_response(
            413, "too_large", f"the request body is over {self.limit:,} bytes (a run config is a few KB)"
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > self.limit:
                        await too_big(scope, receive, send)
                        return
                except ValueError:
                    pass
        received = 0
        refused = False

        async def limited() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.limit:
                    # answer 413 now; the app then sees a disconnected client and its reply is dropped
                    refused = True
                    await too_big(scope, receive, send)
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg: Message) -> None:
            if not refused:
                await send(msg)

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not refused:
                raise


class Latency:
    """Observe every API request's duration by route template (not raw path: ids would explode the labels)."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI):
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
            await send(msg)

        try:
            await self.app(scope, receive, capture)
        finally:
            # FastAPI keeps the full template (prefix included) in its route context; plain routes in "route"
            ctx = (scope.get("fastapi") or {}).get("effective_route_context")
            path = getattr(ctx, "path", None) or getattr(scope.get("route"), "path", None) or "other"
            self.fastapi_app.state.metrics.latency.labels(scope["method"], path, str(status)).observe(
                time.perf_counter() - start
            )


HEALTH_PATHS = frozenset({"/healthz", API_PREFIX + "/healthz"})


class Admission:
    """At most `GRPOLAB_API_MAX_IN_FLIGHT` requests are being worked on at once; the others wait, parked, in
    arrival order. A burst of a thousand requests then keeps the event loop's run queue short, so `/healthz`
    (which skips the queue) and the requests already admitted are not delayed by work that cannot go faster
    anyway (one process is one core). A slot is given back when the response starts: an event stream holds none.
    """

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        slots: asyncio.Semaphore | None = getattr(self.fastapi_app.state, "admission", None)
        if scope["type"] != "http" or slots is None or scope.get("path") in HEALTH_PATHS:
            await self.app(scope, receive, send)
            return
        # stamped before the wait: api/coalesce.py answers a read only with a query that started after this
        scope[ARRIVED_KEY] = time.monotonic()
        await slots.acquire()
        held = True

        async def releasing(msg: Message) -> None:
            nonlocal held
            if held and msg["type"] == "http.response.start":
                held = False
                slots.release()
            await send(msg)

        try:
            await self.app(scope, receive, releasing)
        finally:
            if held:
                slots.release()


class CatchAll:
    """An unexpected exception becomes a 500 in the one error shape *and the connection stays usable*.

    Starlette's own last-resort handler answers and then re-raises, which makes the server drop the client's
    keep-alive connection, so the client's next request fails with a transport error (BUG-6). Once a response
    has started (a stream), nothing can be answered any more: the exception is logged and the body just ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            response = errors.error_response(
                500, "internal_error", f"internal error ({type(exc).__name__}); see the server log"
            )
            await response(scope, receive, send)


# The web UI's pages: no framing (clickjacking), no sniffing, scripts and connections to this origin only.
UI_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some API route serves at this path (for a 405's `Allow` header), found by asking the router
    (included routers too) whether each method would fully match; the web UI's catch-all GET does not count."""
    allowed = []
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        probe = {**scope, "method": method}
        if any(
            getattr(route, "name", None) != "frontend" and route.matches(probe)[0] == Match.FULL
            for route in app.router.routes
        ):
            allowed.append(method)
    return allowed


def _mount_frontend(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    def frontend(path: str, request: Request) -> Any:
        if path.startswith("api/"):
            allow = allowed_methods(app, request.scope)
            if allow:  # e.g. GET /api/v1/lint: the path exists, the method does not
                return errors.error_response(
                    405,
                    "method_not_allowed",
                    f"{request.method} is not allowed on /{path[:100]}; use {', '.join(allow)}",
                    headers={"Allow": ", ".join(allow)},
                )
            return errors.error_response(404, "not_found", f"no API endpoint /{path[:100]}")
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and dist.resolve() in candidate.parents:
            return FileResponse(candidate, headers=UI_SECURITY_HEADERS)
        if index.is_file():
            # deep links (/runs/abc) are routes of the single-page app: serve its shell
            return FileResponse(index, headers={"Cache-Control": "no-cache", **UI_SECURITY_HEADERS})
        return HTMLResponse(
            "<h1>GRPO Lab</h1><p>The web UI is not built: run <code>make frontend</code>. "
            'The API is at <a href="/docs">/docs</a>.</p>',
            headers=UI_SECURITY_HEADERS,
        )


_ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


def _add_error(
    responses: dict[str, Any], status: str, description: str, *, replace: bool = False, **extra: Any
) -> None:
    if replace or status not in responses:
        old = responses.get(status, {}).get("description")
        responses[status] = {"description": old or description, "content": _ERROR_BODY, **extra}


def _document_errors(schema: dict[str, Any]) -> None:
    """Make the OpenAPI document say what the API really answers: every error in the one error shape (not
    FastAPI's `HTTPValidationError`), 400/413 where a body is read, 401/503 where a token is checked."""
    for item in schema.get("paths", {}).values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            if op.get("parameters") or "requestBody" in op or "422" in responses:
                _add_error(
                    responses, "422", "A malformed request: the field is named in `errors`.", replace=True
                )
            if "requestBody" in op:
                _add_error(responses, "400", "`bad_request`: the body is not JSON.")
                _add_error(responses, "413", "`too_large`: the body is over 1 MB.")
            if op.get("security"):
                _add_error(responses, "401", "`unauthorized`: missing, malformed, unknown or revoked token.")
                _add_error(
                    responses,
                    "503",
                    "`unavailable`: the database is unreachable or busy; retry after `Retry-After` seconds.",
                    headers={"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
                )
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> FastAPI:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if run_migrations:
        migrate(settings.db_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # the thread limiter and the database pool are sized together (docs/service.md, "Sizing")
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        app.state.admission = asyncio.Semaphore(settings.api_max_in_flight)  # bound to this event loop
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="GRPO Lab API",
        version="1",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        # FastAPI's own OpenTelemetry hooks cost ~5 % of a request even when nothing is configured; the
        # service's metrics are Prometheus (/api/v1/metrics). OTEL_EXPORTER_OTLP_ENDPOINT set: they stay on.
        telemetry=None if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else _NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.metrics = metrics.ApiMetrics()
    app.state.reads = Coalescer()  # api/coalesce.py: identical reads share a query
    build_openapi = app.openapi

    def openapi_with_error_shape() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_errors(build_openapi())
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi_with_error_shape  # type: ignore[method-assign]
    errors.install(app)
    app.include_router(health.router)  # /healthz at the root too, for probes
    for r in (health, auth, runs, events, lint, schema, metrics):
        app.include_router(r.router, prefix=API_PREFIX)
    app.include_router(worker_routes.router, prefix=API_PREFIX)  # /workers, /queue
    app.include_router(webhook_routes.router, prefix=API_PREFIX)
    app.include_router(sweeps.router, prefix=API_PREFIX)
    app.include_router(user_routes.router, prefix=API_PREFIX)  # /users (admin), /projects
    app.include_router(project_routes.router, prefix=API_PREFIX)
    app.include_router(artifact_routes.router, prefix=API_PREFIX)  # samples, checkpoints, export, CSV

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> dict[str, Any]:  # async: answers even when every worker thread is busy
        return app.openapi()

    _mount_frontend(app, settings.frontend_dist or ROOT / "frontend" / "dist")
    app.add_middleware(CatchAll)
    app.add_middleware(Latency, fastapi_app=app)
    app.add_middleware(BodyLimit)
    app.add_middleware(Admission, fastapi_app=app)
    return app


def app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory api.app:app_from_env`."""
    return create_app(get_settings())
