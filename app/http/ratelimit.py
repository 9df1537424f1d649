"""Rate limits: a token bucket per key (a user ID or a client IP) for each action.

``RateLimiter.check(action, key)`` takes one token from the bucket of ``key``
for ``action`` (``login``, ``registration``, ``message``: the ``rc_*`` settings
of the configuration) or raises 429 M_LIMIT_EXCEEDED with ``retry_after_ms``
(how long until a token is back). Buckets live in the process's memory: with
several API processes each enforces its own share, which bounds abuse to N times
the configured rate without a shared store on the request path.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from aiohttp import web

from tessera.app.config import Config, RateLimit

from .errors import limit_exceeded

#: Buckets kept per action; the least recently used are forgotten beyond this
#: (a forgotten bucket is a full one: generous, never wrongly strict).
MAX_BUCKETS = 100_000


class TokenBucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class RateLimiter:
    def __init__(
        self, limits: dict[str, RateLimit], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._buckets: dict[str, OrderedDict[str, TokenBucket]] = {a: OrderedDict() for a in limits}

    @classmethod
    def from_config(cls, config: Config) -> RateLimiter:
        return cls(
            {
                "login": config.rc_login,
                "registration": config.rc_registration,
                "message": config.rc_message,
            }
        )

    def retry_after_ms(self, action: str, key: str) -> int:
        """Take a token: 0 when allowed, else the milliseconds until one is free."""
        limit = self._limits[action]
        buckets = self._buckets[action]
        now = self._clock()
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = TokenBucket(float(limit.burst), now)
            if len(buckets) > MAX_BUCKETS:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(key)
            bucket.tokens = min(
                float(limit.burst), bucket.tokens + (now - bucket.stamp) * limit.per_second
            )
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / limit.per_second * 1000))

    def check(self, action: str, *keys: str) -> None:
        """Take a token from each key's bucket (e.g. the user's and the IP's), or
        raise M_LIMIT_EXCEEDED with the longest wait."""
        wait = max((self.retry_after_ms(action, k) for k in keys), default=0)
        if wait:
            raise limit_exceeded(wait)


def client_ip(request: web.Request) -> str:
    """The peer's address (a reverse proxy in front should be trusted explicitly;
    until configured, X-Forwarded-For is ignored so clients cannot forge it)."""
    return request.remote or "unknown"


def check_request(request: web.Request, limiter: RateLimiter, action: str, *keys: str) -> None:
    """Limit ``action`` for the request's IP and any further ``keys`` (a user ID)."""
    limiter.check(action, "ip:" + client_ip(request), *keys)
