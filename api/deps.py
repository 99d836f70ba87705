"""Typed dependencies injected into the routers: settings, a DB session, the caller (`CurrentUser`), role and
ownership checks (`require_role`, `MemberUser`, `AdminUser`, `ensure_can_modify`); and the route class that runs a
sync endpoint and closes its session in one worker thread.

Who may do what (one place): a viewer reads; a member submits and changes its OWN runs (and sweeps); an admin does
anything. A refusal is 403 `forbidden` with the reason in the standard error shape.

Why one thread: a session that still holds its pooled connection after the endpoint returned would keep it
"idle in transaction" until the dependency's clean-up, and that clean-up would need another worker thread. Under
a burst every thread then waits for a connection while every connection waits for a thread (BUG-1). Here a
connection is only ever held inside one thread hop, and the pool has at least as many connections as there are
threads (docs/service.md, "Sizing").
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import strict_json
from api.errors import ApiError
from api.ratelimit import rate_limit
from service.auth import Identity, cached_identity, verify_token
from service.db.models import Role
from service.db.session import get_autocommit_engine, get_sessionmaker
from service.settings import Settings

log = logging.getLogger("grpolab.api")


async def get_app_settings(request: Request) -> Settings:  # async: no thread hop for a lookup
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_session(request: Request, settings: SettingsDep) -> AsyncIterator[Session]:
    """A session for a sync endpoint. Creating one does no I/O; `OneThreadRoute` closes it in the endpoint's
    own thread, so the clean-up here normally finds it without a connection and costs nothing.

    On PostgreSQL a GET reads in autocommit (no BEGIN and ROLLBACK around its statements: two round trips less
    per request); a read endpoint that must see one snapshot across statements opens a transaction itself."""
    maker = get_sessionmaker(settings.db_url, settings.db_tuning)
    if request.method == "GET" and settings.db_url.startswith("postgresql"):
        session = maker(bind=get_autocommit_engine(settings.db_url, settings.db_tuning))
    else:
        session = maker()
    try:
        yield session
    finally:
        if (
            session.in_transaction()
        ):  # only if an endpoint bypassed OneThreadRoute: still never block the loop
            try:
                await run_in_threadpool(session.close)
            except Exception:  # the response is already sent: log, and keep the client's connection
                log.exception("closing a database session failed")
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def _in_one_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The sync endpoint, run in a worker thread that also closes its sessions before it returns.

    The wrapper is async, so FastAPI also validates the response on the event loop instead of in a second
    thread hop."""

    @functools.wraps(endpoint)
    async def run(**kwargs: Any) -> Any:
        def call() -> Any:
            try:
                return endpoint(**kwargs)
            finally:
                for value in kwargs.values():
                    if isinstance(value, Session):
                        value.close()  # returns the connection (rolling back anything uncommitted)

        return await run_in_threadpool(call)

    return run


class OneThreadRoute(APIRoute):
    """An APIRoute whose sync endpoints run (and release their database connection) in one thread hop, and
    whose JSON bodies are read strictly (api.strict_json: duplicate keys, NUL, surrogates, huge integers)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint) and not inspect.isgeneratorfunction(endpoint):
            endpoint = _in_one_thread(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict(request: Request) -> Response:
            media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media == "application/json" or media.endswith("+json"):
                body = await request.body()
                if body:
                    request._json = _strict_json(body)  # Starlette's cache of the parsed body: parsed once
            return await handler(request)

        return strict


def _strict_json(body: bytes) -> Any:
    try:
        value, problems = strict_json.parse(body)
    except strict_json.BadJson as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    if problems:
        errors = [
            {
                "pointer": p,
                "field": p.strip("/").replace("/", "."),
                "message": m,
                "line": None,
                "column": None,
            }
            for p, m in problems
        ]
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # a value inside the run config (or a sweep's grid of config values) is the config's problem (as its YAML
        # or schema errors are)
        in_config = all(re.match(r"^/(config(_text)?|grid)(/|$)", p) for p, _ in problems)
        raise ApiError(
            422,
            "invalid_config" if in_config else "invalid_request",
            f"the request is not valid: {first['field']}: {first['message']}{more}",
            errors=errors,
        )
    return value


_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
# declares the scheme in the OpenAPI document (Swagger's "Authorize", schemathesis' auth checks); the header is
# still read below, for messages that say what is wrong with it
_bearer = HTTPBearer(auto_error=False, description="A token from `grpolab token create NAME`.")


def _verify(settings: Settings, token: str) -> Identity | None:
    """Check a token in a short session of its own, opened and closed in this one thread."""
    with get_sessionmaker(settings.db_url, settings.db_tuning)() as session:
        return verify_token(session, token)


async def current_user(
    request: Request,
    settings: SettingsDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """Async so that the common case (a token verified seconds ago) costs no thread hop; the database is
    asked in a worker thread otherwise, on a connection held only for that one query. Every authenticated
    request also takes one unit from its token's rate bucket (api.ratelimit)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ApiError(
            401,
            "unauthorized",
            "missing token: send `Authorization: Bearer <token>` (create one with `grpolab token create NAME`)",
            headers=_UNAUTHORIZED,
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "unauthorized", "malformed Authorization header: use `Bearer <token>`", headers=_UNAUTHORIZED
        )
    token = token.strip()
    identity = cached_identity(token) if len(token) <= 200 else None
    if identity is None:
        identity = await run_in_threadpool(_verify, settings, token)
    if identity is None:
        raise ApiError(
            401, "unauthorized", "invalid or revoked token, or a disabled user", headers=_UNAUTHORIZED
        )
    rate_limit(request.app, settings, token, identity.token_name)
    return identity


CurrentUser = Annotated[Identity, Depends(current_user)]

_ROLE_REASON = {
    Role.VIEWER: "a viewer may only read",
    Role.MEMBER: "a member may submit runs and change its own runs",
}


def _forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def require_role(*roles: Role) -> Callable[[Identity], Coroutine[Any, Any, Identity]]:
    """A dependency that lets only callers with one of `roles` through (403 naming the role otherwise)."""
    allowed = frozenset(roles)
    names = " or ".join(sorted(r.value for r in allowed))

    async def check(user: CurrentUser) -> Identity:  # async: no thread hop, no database
        if user.role not in allowed:
            why = _ROLE_REASON.get(user.role, f"the role {user.role.value} may not do this")
            raise _forbidden(
                f"user '{user.name}' is a {user.role.value}: {why}; this needs the role {names} "
                "(an admin can change it with `grpolab user set-role`)"
            )
        return user

    return check


MemberUser = Annotated[Identity, Depends(require_role(Role.ADMIN, Role.MEMBER))]
"""A caller who may create things (runs, sweeps): a member or an admin."""
AdminUser = Annotated[Identity, Depends(require_role(Role.ADMIN))]
"""A caller who may do anything: an admin."""


def ensure_can_modify(user: Identity, owner_id: int | None, what: str, owner_name: str | None = None) -> None:
    """Refuse (403) a change to `what` (e.g. "run 3f9c1a2b4d5e") unless the caller is an admin, or a member who
    owns it. Call it for EVERY mutating endpoint on a run or sweep, after loading the row (a missing row is 404
    first)."""
    if user.role == Role.ADMIN:
        return
    if user.role != Role.MEMBER:
        raise _forbidden(
            f"user '{user.name}' is a {user.role.value}: a viewer may only read, not change {what}"
        )
    if owner_id is None or owner_id != user.user_id:
        owner = f"'{owner_name}'" if owner_name else "another user"
        raise _forbidden(
            f"{what} belongs to {owner}; a member may change only its own runs and sweeps (ask its owner or an "
            "admin)"
        )
