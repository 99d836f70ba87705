"""Typed dependencies injected into the routers: settings, a DB session, the caller's token name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth import verify_token
from api.db.session import get_sessionmaker
from api.errors import ApiError
from api.settings import Settings


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    session = get_sessionmaker(settings.db_url)()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]

_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def current_user(request: Request, session: SessionDep) -> str:
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
    name = verify_token(session, token.strip())
    if name is None:
        raise ApiError(401, "unauthorized", "invalid or revoked token", headers=_UNAUTHORIZED)
    return name


CurrentUser = Annotated[str, Depends(current_user)]
