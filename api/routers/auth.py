"""Who am I: the name of the token used."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, OneThreadRoute
from api.schemas import ErrorBody, Me

router = APIRouter(tags=["auth"], route_class=OneThreadRoute)


@router.get(
    "/me", response_model=Me, summary="The caller's token name", responses={401: {"model": ErrorBody}}
)
async def me(user: CurrentUser) -> Any:  # async: no thread hop, no database
    return {"name": user}
