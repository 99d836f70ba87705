"""The FastAPI application: routers under /api/v1, one error shape, body limit, latency metrics, the web UI.

`create_app(settings)` applies the migrations, so starting the API is enough to get a working database.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.db.session import migrate
from api.routers import auth, events, health, lint, metrics, runs, schema
from api.settings import Settings, get_settings

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


def _mount_frontend(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    def frontend(path: str) -> Any:
        if path.startswith("api/"):
            return errors.error_response(404, "not_found", f"no API endpoint /{path[:100]}")
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and dist.resolve() in candidate.parents:
            return FileResponse(candidate)
        if index.is_file():
            # deep links (/runs/abc) are routes of the single-page app: serve its shell
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse(
            "<h1>GRPO Lab</h1><p>The web UI is not built: run <code>make frontend</code>. "
            'The API is at <a href="/docs">/docs</a>.</p>'
        )


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> FastAPI:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if run_migrations:
        migrate(settings.db_url)
    app = FastAPI(
        title="GRPO Lab API",
        version="1",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics.ApiMetrics()
    errors.install(app)
    app.include_router(health.router)  # /healthz at the root too, for probes
    for r in (health, auth, runs, events, lint, schema, metrics):
        app.include_router(r.router, prefix=API_PREFIX)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    _mount_frontend(app, settings.frontend_dist or ROOT / "frontend" / "dist")
    app.add_middleware(Latency, fastapi_app=app)
    app.add_middleware(BodyLimit)
    return app


def app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory api.app:app_from_env`."""
    return create_app(get_settings())
