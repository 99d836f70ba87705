"""Bearer tokens: created once (shown once), stored as SHA-256, checked on every request but /healthz."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import ApiToken

TOKEN_PREFIX = "glab_"
_CACHE_TTL_S = 10.0  # a revoked token stops working within this time; saves a query on every request
_cache: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str) -> str:
    """Store a new token for `name` and return it: the only time it exists in clear."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("a token name must have 1 to 100 characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token)))
    return token


def cached_name(token: str) -> str | None:
    """The token's name if it was verified within the last few seconds (no database access)."""
    with _lock:
        hit = _cache.get(hash_token(token))
    return hit[0] if hit and hit[1] > time.monotonic() else None


def verify_token(session: Session, token: str) -> str | None:
    """The token's name, or None when it is unknown or revoked."""
    if not token or len(token) > 200:
        return None
    name = cached_name(token)
    if name is not None:
        return name
    digest = hash_token(token)
    now = time.monotonic()
    row = session.execute(
        select(ApiToken.name, ApiToken.token_hash).where(
            ApiToken.token_hash == digest, ApiToken.revoked.is_(False)
        )
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    with _lock:
        _cache[digest] = (row.name, now + _CACHE_TTL_S)
    return str(row.name)
