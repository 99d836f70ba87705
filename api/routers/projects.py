"""Projects: every user lists them; an admin adds one. Runs name their project at submission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.deps import AdminUser, CurrentUser, OneThreadRoute, SessionDep
from api.errors import ApiError
from api.schemas import ErrorBody, ProjectCreate, ProjectList, ProjectOut
from service.db.models import Project, Run
from service.users import NameTaken, add_project

router = APIRouter(prefix="/projects", tags=["projects"], route_class=OneThreadRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid token, or a disabled user."},
    429: {"model": ErrorBody, "description": "`rate_limited`: the token's request rate (see Retry-After)."},
}


@router.get("", response_model=ProjectList, summary="List projects with their run counts", responses=ERRORS)
def list_projects(session: SessionDep, _user: CurrentUser) -> Any:
    counts = {
        str(name): int(n)
        for name, n in session.execute(select(Run.project, func.count()).group_by(Run.project))
    }
    projects = session.execute(select(Project).order_by(Project.name)).scalars()
    return {
        "items": [
            {
                "name": p.name,
                "description": p.description,
                "created_at": p.created_at,
                "runs": int(counts.get(p.name, 0)),
            }
            for p in projects
        ]
    }


@router.post(
    "",
    status_code=201,
    response_model=ProjectOut,
    summary="Add a project (admin)",
    responses={
        **ERRORS,
        403: {"model": ErrorBody, "description": "`forbidden`: only an admin adds projects."},
        409: {"model": ErrorBody, "description": "`conflict`: a project with this name exists."},
        422: {"model": ErrorBody, "description": "A malformed name (the field is named)."},
    },
)
def create_project(body: ProjectCreate, session: SessionDep, _admin: AdminUser) -> Any:
    try:
        project = add_project(session, body.name, body.description)
        session.commit()
    except NameTaken as exc:
        session.rollback()
        raise ApiError(409, "conflict", str(exc)) from None
    except ValueError as exc:
        session.rollback()
        raise ApiError(422, "invalid_request", str(exc)) from None
    except IntegrityError:
        session.rollback()
        raise ApiError(409, "conflict", f"a project named {body.name!r} exists already") from None
    return {
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at,
        "runs": 0,
    }
