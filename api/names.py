"""Users and projects are added by an admin under a unique name (service.users): one way to commit such an add
and to answer when the name is taken or malformed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import ApiError
from service.users import NameTaken

P = ParamSpec("P")
T = TypeVar("T")


def add_named(
    session: Session,
    kind: str,
    add: Callable[Concatenate[Session, str, P], T],
    name: str,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """What `add(session, name, ...)` made, committed. A name in use is 409 `conflict` (also when a concurrent add
    of the same name wins at the commit); a malformed name or an unknown value (a role) is 422 `invalid_request`
    with service.users' sentence."""
    try:
        made = add(session, name, *args, **kwargs)
        session.commit()
    except NameTaken as exc:
        session.rollback()
        raise ApiError(409, "conflict", str(exc)) from None
    except ValueError as exc:
        session.rollback()
        raise ApiError(422, "invalid_request", str(exc)) from None
    except IntegrityError:  # the unique name's constraint: a concurrent add won
        session.rollback()
        raise ApiError(409, "conflict", f"a {kind} named {name!r} exists already") from None
    return made
