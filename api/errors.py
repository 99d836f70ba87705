"""One error shape for every failure: `{"detail": {code, message, errors, findings}}`.

FastAPI's own request-validation errors and Starlette's HTTP errors are converted to it, so a client (the web
UI, the CLI) reads one structure. Unexpected exceptions become a 500 in the same shape, never a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("grpolab.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        findings: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []
        self.findings = findings or []
        self.headers = headers


def body(code: str, message: str, errors: list[Any] | None = None, findings: list[Any] | None = None) -> dict:
    return {"detail": {"code": code, "message": message, "errors": errors or [], "findings": findings or []}}


def error_response(status: int, code: str, message: str, **kw: Any) -> JSONResponse:
    headers = kw.pop("headers", None)
    return JSONResponse(body(code, message, **kw), status_code=status, headers=headers)


# the member tags pydantic puts into an error's location for a union (`bool | None` gives `archived.bool` and
# `archived.none`); no field of ours has such a name
_UNION_TAG = re.compile(r"none|bool|int|float|str|bytes|[a-z-]+\[.*\]")


def _field_errors(raw: list[Any]) -> list[dict[str, Any]]:
    """Each validation error once, located by its field alone: union tags are dropped, and a union's "should be
    None" alternative is left out where the field has a real complaint (null is always allowed or not at all)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for err in raw:
        loc = tuple(err.get("loc", ()))
        where = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
        tagged = any(isinstance(p, str) and _UNION_TAG.fullmatch(p) for p in where)
        where = tuple(p for p in where if not (isinstance(p, str) and _UNION_TAG.fullmatch(p)))
        if tagged and err.get("type") == "none_required" and len(raw) > 1:
            continue
        field = ".".join(str(p) for p in where) or str(loc[0] if loc else "")
        msg = str(err.get("msg", "invalid value"))
        out.setdefault(
            where, {"pointer": _pointer(where), "field": field, "message": msg, "line": None, "column": None}
        )
    return list(out.values())


def _pointer(loc: tuple[Any, ...]) -> str:
    return "".join(f"/{p}" for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            exc.status, exc.code, exc.message, errors=exc.errors, findings=exc.findings, headers=exc.headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = "the body is not valid JSON, or nests too deeply (a run config needs only a few levels)"
        headers = exc.headers
        if exc.status_code == 405:
            from api.app import allowed_methods  # the router knows every route at this path

            allow = allowed_methods(request.app, request.scope)
            headers = {**(headers or {}), "Allow": ", ".join(allow)}
            message = f"{request.method} is not allowed here; use {', '.join(allow)}"
        return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(list(exc.errors()))
        summary = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
        return error_response(422, "invalid_request", f"the request is not valid: {summary}", errors=errors)

    @app.exception_handler(OperationalError)
    @app.exception_handler(SATimeoutError)
    async def _db_unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc).__name__)
        return error_response(
            503,
            "unavailable",
            "the database is unavailable or busy; try again in a moment",
            headers={"Retry-After": "2"},
        )

    # Unexpected exceptions: api.app.CatchAll (a handler for Exception here would make Starlette drop the
    # client's keep-alive connection after answering)
