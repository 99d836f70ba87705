"""Projects: every user lists them; an admin adds one. Runs name their project at submission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import AdminUser, CurrentUser, OneThreadRoute, SessionDep
from api.names import add_named
from api.schemas import ErrorBody, ProjectCreate, ProjectList, ProjectOut
from service.db.models import Project
from service.users import add_project, run_counts

router = APIRouter(prefix="/projects", tags=["projects"], route_class=OneThreadRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or invalid token, or a disabled user."},
    429: {"model": ErrorBody, "description": "`rate_limited`: the token's request rate (see Retry-After)."},
}


def _out(project: Project, runs: int) -> dict[str, Any]:
    return {
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at,
        "runs": runs,
    }


@router.get("", response_model=ProjectList, summary="List projects with their run counts", responses=ERRORS)
def list_projects(session: SessionDep, _user: CurrentUser) -> Any:
    counts = run_counts(session)
    projects = session.execute(select(Project).order_by(Project.name)).scalars()
    return {"items": [_out(p, counts.get(p.name, 0)) for p in projects]}


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
    project = add_named(session, "project", add_project, body.name, body.description)
    return _out(project, 0)
