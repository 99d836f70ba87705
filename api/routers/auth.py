"""Who am I: the caller's user, role, token and the projects it can see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import CurrentUser, OneThreadRoute, SessionDep
from api.schemas import ErrorBody, Me
from service.db.models import Project

router = APIRouter(tags=["auth"], route_class=OneThreadRoute)


@router.get(
    "/me",
    response_model=Me,
    summary="The caller: user name, role, the token used and the projects",
    responses={401: {"model": ErrorBody, "description": "Missing or invalid token, or a disabled user."}},
)
def me(user: CurrentUser, session: SessionDep) -> Any:
    """Every user reads every project; the role says what the caller may change."""
    projects = session.execute(select(Project.name).order_by(Project.name)).scalars().all()
    return {
        "name": user.name,
        "role": user.role.value,
        "token_name": user.token_name,
        "projects": list(projects),
    }
