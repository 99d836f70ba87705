"""Typed dependencies injected into the routers: settings, a DB session, the caller's token name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import cached_name, verify_token
from api.db.session import get_sessionmaker
from api.errors import ApiError
from api.settings import Settings


async def get_app_settings(request: Request) -> Settings:  # async: no thread hop for a lookup
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_session(settings: SettingsDep) -> AsyncIterator[Session]:
    """Async so that opening and closing cost no thread hops: creating a session does no I/O, and closing one
    does only while it still holds a connection (then in a worker thread)."""
    session = get_sessionmaker(settings.db_url)()
    try:
        yield session
    finally:
        if session.in_transaction():
            await anyio.to_thread.run_sync(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def current_user(request: Request, session: SessionDep) -> str:
    """Async so that the common case (a token verified seconds ago) costs no thread hop; the database is
    asked in a worker thread otherwise."""
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
    name = cached_name(token) if len(token) <= 200 else None
    if name is None:
        name = await anyio.to_thread.run_sync(verify_token, session, token)
    if name is None:
        raise ApiError(401, "unauthorized", "invalid or revoked token", headers=_UNAUTHORIZED)
    return name


CurrentUser = Annotated[str, Depends(current_user)]
