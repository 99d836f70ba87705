"""Users (admin only): list them, and add one with its first token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import AdminUser, OneThreadRoute, SessionDep
from api.names import add_named
from api.schemas import ErrorBody, UserCreate, UserCreated, UserList
from service.db.models import User
from service.users import add_user, token_counts

router = APIRouter(prefix="/users", tags=["users"], route_class=OneThreadRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid token, or a disabled user."},
    403: {"model": ErrorBody, "description": "`forbidden`: only an admin manages users."},
    429: {"model": ErrorBody, "description": "`rate_limited`: the token's request rate (see Retry-After)."},
}


def _out(user: User, tokens: int) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "disabled": user.disabled,
        "created_at": user.created_at,
        "tokens": tokens,
    }


@router.get("", response_model=UserList, summary="List users (admin)", responses=ERRORS)
def list_users(session: SessionDep, _admin: AdminUser) -> Any:
    counts = token_counts(session)
    users = session.execute(select(User).order_by(User.name)).scalars()
    return {"items": [_out(u, counts.get(u.id, 0)) for u in users]}


@router.post(
    "",
    status_code=201,
    response_model=UserCreated,
    summary="Add a user and its first token (admin)",
    responses={
        **ERRORS,
        409: {"model": ErrorBody, "description": "`conflict`: a user with this name exists."},
        422: {"model": ErrorBody, "description": "A malformed name or an unknown role (the field is named)."},
    },
)
def create_user(body: UserCreate, session: SessionDep, _admin: AdminUser) -> Any:
    """The token is in this response only (stored hashed): hand it to the user."""
    user, token_name, token = add_named(session, "user", add_user, body.name, body.role)
    return {**_out(user, 1), "token": token, "token_name": token_name}
