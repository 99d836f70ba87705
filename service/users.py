"""Users and projects: the writes shared by the `grpolab user/project` commands and the API's admin endpoints.

Errors a person can fix raise ValueError with the sentence to show (a name taken, an unknown user or role).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.auth import check_name, create_token, forget_cached
from service.db.models import ApiToken, Project, Role, Run, User

ROLES = tuple(r.value for r in Role)


class NameTaken(ValueError):
    """A user or project with this name exists already."""


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}: use {', '.join(ROLES)}") from None


def get_user(session: Session, name: str) -> User:
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise ValueError(f"no user named {name!r} (see `grpolab user list`)")
    return user


def add_user(session: Session, name: str, role: str = Role.MEMBER.value) -> tuple[User, str, str]:
    """A new user and its first token (named like the user, or `<name>-2`… when that token name is taken);
    returns the user, the token's name and the token in clear (the only time it exists)."""
    name = check_name(name, "user")
    parsed = parse_role(role)
    if session.execute(select(User.id).where(User.name == name)).first() is not None:
        raise NameTaken(f"a user named {name!r} exists already: choose another name")
    user = User(name=name, role=parsed.value, disabled=False)
    session.add(user)
    session.flush()
    taken = set(session.execute(select(ApiToken.name).where(ApiToken.name.like(f"{name}%"))).scalars())
    token_name = next(n for n in (name, *(f"{name}-{k}" for k in range(2, 10_000))) if n not in taken)
    return user, token_name, create_token(session, token_name, user)


def set_role(session: Session, name: str, role: str) -> User:
    user = get_user(session, name)
    user.role = parse_role(role).value
    forget_cached()  # this process's token cache; API processes see it within their cache's lifetime
    return user


def set_disabled(session: Session, name: str, disabled: bool = True) -> User:
    user = get_user(session, name)
    user.disabled = disabled
    forget_cached()
    return user


def token_counts(session: Session) -> dict[int, int]:
    """Active (not revoked) tokens per user id."""
    rows = session.execute(
        select(ApiToken.user_id, func.count()).where(ApiToken.revoked.is_(False)).group_by(ApiToken.user_id)
    ).all()
    return {int(uid): int(n) for uid, n in rows if uid is not None}


def run_counts(session: Session) -> dict[str, int]:
    """Runs per project name, archived ones included."""
    rows = session.execute(select(Run.project, func.count()).group_by(Run.project)).all()
    return {str(name): int(n) for name, n in rows}


def add_project(session: Session, name: str, description: str = "") -> Project:
    name = check_name(name, "project")
    if session.get(Project, name) is not None:
        raise NameTaken(f"a project named {name!r} exists already")
    project = Project(name=name, description=description)
    session.add(project)
    session.flush()
    return project
