"""Forwarding one request to an instance of its upstream, and the answer back.

Retries: a request that may have reached an upstream is re-sent only for idempotent
methods (GET, HEAD, OPTIONS, PUT, DELETE), up to the route's `retries`, each time to an
instance not tried yet. A refused or timed-out *connection* is different: no byte of the
request left the gateway, so any method fails over to another instance (bounded by the
number of instances). Every failure feeds the instance's passive health and the
service's circuit breaker; when nothing can be reached the client gets a 503 naming the
service.

Headers: hop-by-hop headers are dropped both ways; the client's `x-argosy-identity` (and
API-key signing headers) never reach an upstream; the gateway adds its own identity
token, the request and correlation ids, and `x-forwarded-*`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import structlog
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse
from starlette.types import Scope
from yarl import URL

from argosy.contracts import headers as h
from argosy.services.gateway.domain.routes import Route
from argosy.services.gateway.domain.signing import SIGNED_HEADERS
from argosy.services.gateway.metrics import GatewayMetrics
from argosy.services.gateway.upstreams import UpstreamPool, Upstreams

__all__ = ["Proxy"]

log = structlog.get_logger("argosy.gateway.proxy")

_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host", "content-length",
})
_STRIP_REQUEST = _HOP_BY_HOP | frozenset({
    h.IDENTITY, h.REQUEST_ID, h.CORRELATION_ID, h.SOURCE_SERVICE, *SIGNED_HEADERS,
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "forwarded",
})
_STRIP_RESPONSE = _HOP_BY_HOP | frozenset({h.REQUEST_ID, h.CORRELATION_ID, "server", "date"})
_UNAVAILABLE_STATUS = frozenset({502, 503, 504})
_BUFFER_LIMIT = 1_048_576  # larger (or unsized) answers are streamed through


def _request_headers(scope: Scope, extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    drop = set(_STRIP_REQUEST)
    for name, value in raw:
        if name == b"connection":  # headers the client declared hop-by-hop
            drop.update(t.strip().lower() for t in value.decode("latin-1").split(","))
    out = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw
           if n.decode("latin-1") not in drop]
    out.extend(extra)
    return out


def _response_headers(
    resp: aiohttp.ClientResponse, keep_length: bool, upstream: str
) -> list[tuple[bytes, bytes]]:
    drop = set(_STRIP_RESPONSE)
    if keep_length:
        drop.discard("content-length")
    out = []
    for name, value in resp.raw_headers:
        lower = name.lower()
        if lower.decode("latin-1") in drop:
            continue
        if lower == b"location":
            value = _public_location(value, upstream)
        out.append((lower, value))
    return out


def _public_location(value: bytes, upstream: str) -> bytes:
    """An upstream's redirect to itself (FastAPI's trailing-slash 307 says
    `http://users:8083/api/v1/accounts`) becomes a path on the gateway: the client must
    never be sent round the gateway, nor learn where the services live."""
    base = upstream.encode("latin-1")
    if value == base or value.startswith(base + b"/") or value.startswith(base + b"?"):
        return value[len(base):] or b"/"
    return value


class Proxy:
    def __init__(self, upstreams: Upstreams, metrics: GatewayMetrics) -> None:
        self._upstreams, self._metrics = upstreams, metrics

    async def forward(
        self,
        scope: Scope,
        route: Route,
        *,
        body: bytes,
        identity: str | None,
        client_ip: str,
        request_id: str | None,
        correlation_id: str | None,
    ) -> Response:
        method: str = scope["method"]
        pool = self._upstreams.pool(route.service)
        pool.admit()
        extra = [("x-forwarded-for", client_ip), ("x-forwarded-proto", scope.get("scheme", "http")),
                 (h.SOURCE_SERVICE, "gateway")]
        host = next((v for n, v in scope["headers"] if n == b"host"), None)
        if host:
            extra.append(("x-forwarded-host", host.decode("latin-1")))
        if identity:
            extra.append((h.IDENTITY, identity))
        if request_id:
            extra.append((h.REQUEST_ID, request_id))
        if correlation_id:
            extra.append((h.CORRELATION_ID, correlation_id))
        headers = _request_headers(scope, extra)
        target = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        path_qs = target.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        return await self._attempts(pool, route, method, path_qs, headers, body)

    async def _attempts(
        self, pool: UpstreamPool, route: Route, method: str, path_qs: str,
        headers: list[tuple[str, str]], body: bytes,
    ) -> Response:
        budget = route.retries_for(method)
        tried: list[str] = []
        reason = "no healthy instance"
        session = self._upstreams.session()
        while True:
            instance = pool.balancer.pick(exclude=tried)
            if instance is None:
                raise pool.unavailable(reason, cause="unreachable", attempts=len(tried))
            if tried:
                self._metrics.retries.labels(pool.service).inc()
            tried.append(instance.url)
            pool.balancer.started(instance)
            started = time.perf_counter()
            sent, buffered, content = True, True, b""
            resp: aiohttp.ClientResponse | None = None
            try:
                async with asyncio.timeout(route.timeout_s):
                    resp = await session.request(
                        method, URL(instance.url + path_qs, encoded=True), headers=headers,
                        data=body if body else None, allow_redirects=False,
                    )
                    length = resp.content_length
                    buffered = method == "HEAD" or (length is not None and length <= _BUFFER_LIMIT)
                    content = await resp.read() if buffered else b""
            except asyncio.CancelledError:  # the client went away: not the instance's fault
                pool.balancer.abandoned(instance)
                _discard(resp)
                raise
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                sent, ok, reason = False, False, f"cannot connect ({type(exc).__name__})"
                _discard(resp)
                resp = None
            except TimeoutError:
                ok, reason = False, f"no answer within {route.timeout_s:g} s"
                _discard(resp)
                resp = None
            except aiohttp.ClientError as exc:
                ok, reason = False, f"connection failed ({type(exc).__name__})"
                _discard(resp)
                resp = None
            else:
                assert resp is not None
                ok = resp.status not in _UNAVAILABLE_STATUS
                reason = f"answered {resp.status}"
            elapsed = time.perf_counter() - started
            transitions = pool.breaker.transitions
            pool.balancer.finished(instance, ok=ok)
            (pool.breaker.record_success if ok else pool.breaker.record_failure)()
            if pool.breaker.transitions != transitions:
                self._upstreams.report()
            self._metrics.upstream_latency.labels(route.prefix, pool.service).observe(elapsed)
            structlog.contextvars.bind_contextvars(
                upstream=pool.service, instance=instance.url, attempts=len(tried),
                upstream_ms=round(elapsed * 1000, 2),
            )
            if resp is not None and (ok or budget == 0 or len(tried) > budget):
                return self._response(resp, method, buffered, content, instance.url)
            if resp is not None:
                resp.release()
            retry = (not sent) or len(tried) <= budget
            if not retry:
                raise pool.unavailable(reason, cause="failed", attempts=len(tried))
            if not pool.breaker.allow():
                raise pool.unavailable(f"{reason}; circuit now open", cause="circuit_open")

    def _response(
        self, resp: aiohttp.ClientResponse, method: str, buffered: bool, content: bytes,
        upstream: str,
    ) -> Response:
        if buffered:
            out = Response(status_code=resp.status)
            keep_length = method == "HEAD" or resp.status in (204, 304)
            out.raw_headers = _response_headers(resp, keep_length, upstream)
            out.body = content
            if not keep_length:
                out.raw_headers.append((b"content-length", str(len(content)).encode()))
            resp.release()
            return out

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in resp.content.iter_chunked(65_536):
                yield chunk

        streamed = StreamingResponse(chunks(), status_code=resp.status,
                                     background=BackgroundTask(_release, resp))
        streamed.raw_headers = _response_headers(resp, keep_length=True, upstream=upstream)
        return streamed


async def _release(resp: Any) -> None:
    resp.release()


def _discard(resp: aiohttp.ClientResponse | None) -> None:
    """A response cut short (timeout mid-body) must not go back to the pool."""
    if resp is not None:
        resp.close()
