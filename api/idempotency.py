"""Idempotency-Keys of POST /runs and POST /sweeps: stored per user, and a retried create answered with what the
first one made (a run, a sweep) instead of a second one."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, TypeVar

from fastapi import Header, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.queries import detail_dict
from service.db.models import Run

# The header of both creates (FastAPI names it Idempotency-Key after the parameter `idempotency_key`)
IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description="Retrying a create with the same key returns what the first one created, with 200, instead of "
        "making another: the run for the same config (`POST /runs`), the sweep and its runs for the same body "
        "(`POST /sweeps`); the key with another config or body is 409. Keys are per user: two users never share "
        "what a key made.",
    ),
]

T = TypeVar("T")


def scoped_key(user: str, key: str | None) -> str | None:
    """The stored form of an Idempotency-Key: a digest of (user name, key), so that keys are per user (user names are unique)."""
    if not key:
        return None
    return "sha256:" + hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()


def body_digest(body: Any) -> str:
    """What a retry must repeat to get the first answer: a digest of the request body as JSON (defaults filled in,
    so leaving out `tags` and sending `[]` are the same body)."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def key_reused(key: str | None, kind: str, existing_id: str, differs: str) -> ApiError:
    """409: this user's key already made the `kind` ("run", "sweep") `existing_id` from a different `differs`."""
    return ApiError(
        409,
        "idempotency_key_reused",
        f"Idempotency-Key {key!r} was used for {kind} {existing_id} with a different {differs}; "
        f"use a new key for a new {kind}",
    )


def replay_for_key(
    session: Session, stored_key: str | None, key: str | None, config: dict[str, Any]
) -> dict[str, Any] | None:
    """The run an earlier submit with this user's Idempotency-Key created (409 if its config differs), or None."""
    if stored_key is None:
        return None
    existing = session.execute(select(Run).where(Run.idempotency_key == stored_key)).scalar_one_or_none()
    if existing is None:
        return None
    if existing.config != config:
        raise key_reused(key, "run", existing.id, "config")
    return detail_dict(session, existing)


def replayed(response: Response, earlier: T | None, refusal: Exception) -> T:
    """A create that could not make anything new (at the quota, or its key stored meanwhile by a twin) answers
    with what an earlier create with the same key made, as 200; without one, `refusal` stands."""
    if earlier is None:
        raise refusal
    response.status_code = 200
    return earlier
