"""Idempotency-Keys of POST /runs: stored per user, and a retried submit answered with the run it created."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import ApiError
from api.queries import detail_dict
from service.db.models import Run


def scoped_key(user: str, key: str | None) -> str | None:
    """The stored form of an Idempotency-Key: a digest of (user name, key), so that keys are per user (user names are unique)."""
    if not key:
        return None
    return "sha256:" + hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()


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
        raise ApiError(
            409,
            "idempotency_key_reused",
            f"Idempotency-Key {key!r} was used for run {existing.id} with a different config; "
            "use a new key for a new run",
        )
    return detail_dict(session, existing)
