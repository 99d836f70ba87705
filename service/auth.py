"""Bearer tokens: created once (shown once), stored as SHA-256, checked on every request but /healthz.

A token acts as its user: `verify_token` answers who the caller is (user id, name, role) and which token was used.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import ApiToken, Role, User

TOKEN_PREFIX = "glab_"
_CACHE_TTL_S = 10.0  # a revoked token, a disabled user or a new role takes effect within this time
_cache: dict[str, tuple[Identity, float]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Identity:
    """The caller of a request: a user, seen through one of its tokens."""

    user_id: int
    name: str
    role: Role
    token_name: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# user and project names appear in URLs, filters and terminals: a plain alphabet (token names are free text)
IDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$"


def check_name(name: str, what: str) -> str:
    """A token name (1 to 100 printable characters), or a user or project name (IDENT_PATTERN)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError(f"a {what} name must have 1 to 100 characters")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        raise ValueError(f"a {what} name must be printable text (no control characters)")
    if what != "token" and not re.fullmatch(IDENT_PATTERN, name):
        raise ValueError(
            f"the {what} name {name!r} is not allowed: use letters, digits and _.@+- (starting with a letter or "
            "digit, at most 100 characters)"
        )
    return name


def create_token(session: Session, name: str, user: User | None = None) -> str:
    """Store a new token named `name` for `user` and return it: the only time it exists in clear.

    Token names are unique. Without a user, the token gets an admin user of the same name (what every token was
    before users existed; `grpolab up`'s first-run token is made this way, so the first user is an admin)."""
    name = check_name(name, "token")
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


def cached_identity(token: str) -> Identity | None:
    """The token's caller if it was verified within the last few seconds (no database access)."""
    with _lock:
        hit = _cache.get(hash_token(token))
    return hit[0] if hit and hit[1] > time.monotonic() else None


def forget_cached() -> None:
    """Drop every cached verification (tests, and commands that change roles in this process)."""
    with _lock:
        _cache.clear()


def verify_token(session: Session, token: str) -> Identity | None:
    """Who the token acts for, or None when the token is unknown or revoked or its user disabled."""
    if not token or len(token) > 200:
        return None
    hit = cached_identity(token)
    if hit is not None:
        return hit
    digest = hash_token(token)
    now = time.monotonic()
    row = session.execute(
        select(User.id, User.name, User.role, ApiToken.name.label("token_name"), ApiToken.token_hash)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest, ApiToken.revoked.is_(False), User.disabled.is_(False))
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    identity = Identity(user_id=row.id, name=row.name, role=Role(row.role), token_name=row.token_name)
    with _lock:
        _cache[digest] = (identity, now + _CACHE_TTL_S)
    return identity
