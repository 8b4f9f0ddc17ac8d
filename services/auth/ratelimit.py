"""Per-key rate limits (token buckets): a caller over its budget gets 429 with Retry-After.

Each replica keeps its own buckets, so the cluster-wide budget is the per-replica rate times the replicas;
that is deliberate: no shared store on the hot path, and a replica's buckets cannot be starved by another's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

from fastapi import Request

from services.caller import checks_credential, get_caller, of_roles, require_roles
from services.principal import Caller
from services.problems import Problem
from services.settings import AuthSettings

_MAX_BUCKETS = 100_000


class TokenBuckets:
    def __init__(self, settings: AuthSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill)

    def rate_of(self, caller: Caller) -> float:
        """Requests per second for this caller; 0 or less means unlimited."""
        if caller.rate_limit is not None:
            return caller.rate_limit
        limits = self.settings.rate_limits
        return limits.get(caller.role, limits.get("default", 0.0))

    def take(self, caller: Caller) -> float | None:
        """None when the request may pass; otherwise the seconds until it would."""
        rate = self.rate_of(caller)
        if rate <= 0:
            return None
        capacity = max(1.0, rate * self.settings.rate_burst_s)
        key, now = caller.key or caller.actor, self.clock()
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
        if len(self._buckets) >= _MAX_BUCKETS:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)
        return None


def rate_limited(*roles: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller must have one of `roles` and be within its rate (else 403 / 429)."""
    require_roles(*roles)  # refuses unknown roles now, not at the first request

    @checks_credential
    async def _check(request: Request) -> Caller:
        return admit(request, of_roles(await get_caller(request), roles))

    return _check


def admit(request: Request, caller: Caller) -> Caller:
    """The caller, if within its rate; else 429 with Retry-After (for credentials not sent as headers, too:
    Open311's api_key form field)."""
    buckets: TokenBuckets = request.app.state.runtime.rate_limits
    wait = buckets.take(caller)
    if wait is not None:
        raise Problem(429, "Too many requests", f"over {buckets.rate_of(caller):g} requests/s for this key",
                      headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return caller
