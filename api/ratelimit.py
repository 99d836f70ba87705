"""Request rate per token: a token bucket per token, kept in this API process.

Each API process keeps its own buckets (nothing shared through Redis or the database, so a check costs no I/O):
with N API processes behind a balancer a token may make up to N times the configured rate. Buckets are keyed by
the token's digest and exist only for verified tokens, so their number is bounded by the tokens in the database.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from api.errors import ApiError
from service.auth import hash_token
from service.settings import Settings


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateBuckets:
    rate_per_s: float
    burst: int
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, now: float | None = None) -> float:
        """Take one request from `key`'s bucket: 0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), at=now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate_per_s)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate_per_s


def rate_limit(app: Any, settings: Settings, token: str, token_name: str) -> None:
    """429 with Retry-After when this token has used up its requests (nothing when the limit is off)."""
    if settings.rate_limit_per_s <= 0:
        return
    buckets: RateBuckets | None = getattr(app.state, "rate_buckets", None)
    if buckets is None:
        buckets = app.state.rate_buckets = RateBuckets(settings.rate_limit_per_s, settings.rate_limit_burst)
    wait = buckets.take(hash_token(token))
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"token '{token_name}' sent more than {settings.rate_limit_per_s:g} requests/s (bursts of up to "
            f"{settings.rate_limit_burst}); retry after {retry_after} s (the operator sets the limit with "
            "GRPOLAB_RATE_LIMIT_PER_S and GRPOLAB_RATE_LIMIT_BURST)",
            headers={"Retry-After": str(retry_after)},
        )
