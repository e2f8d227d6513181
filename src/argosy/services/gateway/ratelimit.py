"""Rate limits and connection caps: the gateway's first guard against floods.

The buckets (domain/limits.py) live in the runtime's cache, so every gateway instance on
one Redis draws from the same ones; their sizes come from the live settings, so an
operator can tighten them during an incident without a restart. A cache outage lets
requests through (logged): limits protect the platform, they must not take it down.

Connection caps are per process (they guard this process's sockets and memory): total
HTTP requests in flight plus open WebSockets, and the same per client address.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import structlog

from argosy.kernel.errors import ArgosyError, RateLimited, Unavailable
from argosy.platform.cache.base import Cache
from argosy.services.gateway.domain.limits import Limit, plan_buckets
from argosy.services.gateway.domain.routes import Route
from argosy.services.gateway.metrics import GatewayMetrics
from argosy.services.gateway.settings import GatewayLiveSettings

__all__ = ["Admission", "RateLimiter"]

log = structlog.get_logger("argosy.gateway.ratelimit")


class RateLimiter:
    def __init__(
        self,
        cache: Cache | None,
        live: Callable[[], GatewayLiveSettings],
        metrics: GatewayMetrics,
    ) -> None:
        self._cache, self._live, self._metrics = cache, live, metrics

    async def check(
        self, *, ip: str | None = None, identity: str | None = None, route: Route | None = None
    ) -> None:
        """Take one token from each applicable bucket; RateLimited names the first empty one."""
        s = self._live()
        if not s.rate_limits or self._cache is None:
            return
        route_limit = Limit(
            route.rate if route is not None and route.rate else s.rate_route_per_s,
            route.burst if route is not None and route.burst else s.rate_route_burst,
        )
        plan = plan_buckets(
            ip=ip, identity=identity, route=route.prefix if route is not None else None,
            ip_limit=Limit(s.rate_ip_per_s, s.rate_ip_burst),
            identity_limit=Limit(s.rate_identity_per_s, s.rate_identity_burst),
            route_limit=route_limit,
        )
        for bucket in plan:
            try:
                grant = await self._cache.take_tokens(
                    bucket.key, rate=bucket.limit.rate, burst=bucket.limit.burst
                )
            except ArgosyError as exc:
                log.warning("ratelimit.cache_failed", error=exc.message)
                continue
            if not grant.allowed:
                self._metrics.rate_limited.labels(bucket.scope).inc()
                raise RateLimited(
                    f"rate limit exceeded ({bucket.scope})", retry_after=grant.retry_after,
                    details={"scope": bucket.scope},
                )


class Admission:
    def __init__(self, *, max_total: int, max_per_ip: int) -> None:
        self.max_total, self.max_per_ip = max_total, max_per_ip
        self.total = 0
        self._per_ip: dict[str, int] = {}

    def enter(self, ip: str) -> None:
        if self.total >= self.max_total:
            raise Unavailable("gateway at its connection limit, retry shortly",
                              dependency="gateway", details={"service": "gateway"})
        held = self._per_ip.get(ip, 0)
        if held >= self.max_per_ip:
            raise RateLimited("too many concurrent connections from this address",
                              retry_after=1.0, details={"scope": "connections"})
        self.total += 1
        self._per_ip[ip] = held + 1

    def leave(self, ip: str) -> None:
        self.total = max(0, self.total - 1)
        held = self._per_ip.get(ip, 0) - 1
        if held > 0:
            self._per_ip[ip] = held
        else:
            self._per_ip.pop(ip, None)

    @contextlib.contextmanager
    def hold(self, ip: str) -> Iterator[None]:
        self.enter(ip)
        try:
            yield
        finally:
            self.leave(ip)
