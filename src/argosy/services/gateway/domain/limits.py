"""Rate-limit rules: which buckets a request draws from, and the bucket arithmetic.

Why three buckets: per IP stops a flood before any token is verified; per identity keeps
one user or program from starving the others whatever address it comes from; per route
protects an upstream from everyone at once. The shared buckets live in the cache
(platform/cache: an atomic Lua script on Redis), so every gateway instance draws from the
same ones; `TokenBucket` is the same arithmetic for state that belongs to one connection
(messages a WebSocket client may send).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["BucketCheck", "Limit", "TokenBucket", "plan_buckets", "retry_after_header"]

Scope = Literal["ip", "identity", "route"]


@dataclass(frozen=True, slots=True)
class Limit:
    """`rate` tokens per second, at most `burst` saved up."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be positive, got {self.rate}")
        if not (math.isfinite(self.burst) and self.burst >= 1):
            raise ValueError(f"burst must be at least 1, got {self.burst}")


@dataclass(frozen=True, slots=True)
class BucketCheck:
    scope: Scope
    key: str  # cache key, without the cache's namespace
    limit: Limit


def plan_buckets(
    *,
    ip: str | None = None,
    identity: str | None = None,
    route: str | None = None,
    ip_limit: Limit,
    identity_limit: Limit,
    route_limit: Limit,
) -> list[BucketCheck]:
    """The buckets one request draws a token from, cheapest rejection first."""
    plan: list[BucketCheck] = []
    if ip is not None:
        plan.append(BucketCheck("ip", f"rl:ip:{ip}", ip_limit))
    if identity is not None:
        plan.append(BucketCheck("identity", f"rl:id:{identity}", identity_limit))
    if route is not None:
        plan.append(BucketCheck("route", f"rl:route:{route}", route_limit))
    return plan


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1 (RFC 9110 delay-seconds): never tell a client 0."""
    return str(max(1, math.ceil(seconds)))


class TokenBucket:
    """A token bucket owned by one task; time comes from the caller (seconds)."""

    __slots__ = ("_stamp", "limit", "tokens")

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = limit.burst
        self._stamp = now

    def refill(self, now: float) -> float:
        elapsed = max(0.0, now - self._stamp)
        self.tokens = min(self.limit.burst, self.tokens + elapsed * self.limit.rate)
        self._stamp = max(self._stamp, now)
        return self.tokens

    def take(self, now: float, cost: float = 1.0) -> float:
        """0.0 when granted (and taken); otherwise the seconds until it would be."""
        tokens = self.refill(now)
        if tokens >= cost:
            self.tokens = tokens - cost
            return 0.0
        return (cost - tokens) / self.limit.rate
