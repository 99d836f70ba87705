"""Bearer tokens: created once (shown once), stored as SHA-256, checked on every request but /healthz."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import ApiToken, Role, User

TOKEN_PREFIX = "glab_"
_CACHE_TTL_S = 10.0  # a revoked token stops working within this time; saves a query on every request
_cache: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str, user: User | None = None) -> str:
    """Store a new token named `name` for `user` and return it: the only time it exists in clear.

    Token names are unique. Without a user, the token gets an admin user of the same name (what every token was
    before users existed)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("a token name must have 1 to 100 characters")
    if session.execute(select(ApiToken.id).where(ApiToken.name == name)).first() is not None:
        raise ValueError(f"a token named '{name}' exists already: choose another name")
    if user is None:
        user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            user = User(name=name, role=Role.ADMIN)
            session.add(user)
            session.flush()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(token), user_id=user.id))
    return token


def cached_name(token: str) -> str | None:
    """The token's name if it was verified within the last few seconds (no database access)."""
    with _lock:
        hit = _cache.get(hash_token(token))
    return hit[0] if hit and hit[1] > time.monotonic() else None


def verify_token(session: Session, token: str) -> str | None:
    """The name of the token's user, or None when the token is unknown or revoked or its user disabled."""
    if not token or len(token) > 200:
        return None
    name = cached_name(token)
    if name is not None:
        return name
    digest = hash_token(token)
    now = time.monotonic()
    row = session.execute(
        select(User.name, ApiToken.token_hash)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest, ApiToken.revoked.is_(False), User.disabled.is_(False))
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    with _lock:
        _cache[digest] = (row.name, now + _CACHE_TTL_S)
    return str(row.name)
