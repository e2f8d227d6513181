"""The gateway's one use-case: take a public request, decide, and forward it.

Order, cheapest refusal first: route (404) → sunset (410) → connection cap → per-IP bucket
(429) → credentials (401) → permission (403) → per-identity and per-route buckets (429)
→ body cap (413) → upstream (its answer, or 503 naming it). Credentials are a bearer
access token or an API-key signature, never both; on a `public` route bad credentials
are ignored and the request goes on anonymously (a client refreshing its session often
still sends its expired token), on a `user` route they are a 401.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from argosy.kernel.errors import (
    ArgosyError,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    Unauthorized,
)
from argosy.platform.auth.internal import Principal
from argosy.platform.http.errors import error_body, status_for
from argosy.platform.http.responses import JsonResponse
from argosy.services.gateway.apikeys import ApiKeys
from argosy.services.gateway.authn import BearerAuth, IdentityMinter, principal_of
from argosy.services.gateway.domain.addresses import Networks, client_address
from argosy.services.gateway.domain.routes import Route, RouteTable, build_table, safe_path
from argosy.services.gateway.domain.signing import parse_signed_headers
from argosy.services.gateway.metrics import GatewayMetrics
from argosy.services.gateway.proxy import Proxy
from argosy.services.gateway.ratelimit import Admission, RateLimiter
from argosy.services.gateway.upstreams import Upstreams

__all__ = ["Gateway", "Gone", "PayloadTooLarge"]

log = structlog.get_logger("argosy.gateway")


class PayloadTooLarge(Invalid):
    code = "payload_too_large"


class Gone(NotFound):
    code = "gone"


_STATUS = {PayloadTooLarge: 413, Gone: 410}


class _RouteLabel:
    """Stands in for the matched route in the ASGI scope, so the platform's request log
    and metrics name the route table's prefix instead of the catch-all pattern."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class Gateway:
    def __init__(
        self,
        *,
        upstreams: Upstreams,
        proxy: Proxy,
        bearer: BearerAuth,
        apikeys: ApiKeys,
        limiter: RateLimiter,
        admission: Admission,
        minter: IdentityMinter,
        metrics: GatewayMetrics,
        max_body: Callable[[], int],
        trusted_proxies: Networks = (),
    ) -> None:
        self.upstreams, self.proxy = upstreams, proxy
        self.bearer, self.apikeys, self.limiter = bearer, apikeys, limiter
        self.admission, self.minter, self.metrics = admission, minter, metrics
        self._max_body = max_body  # from the live settings
        self.trusted = trusted_proxies
        self.table: RouteTable = build_table(None)
        upstreams.configure(self.table)

    async def on_routes(
        self, _namespace: str, content: dict[str, Any] | None, version: int
    ) -> None:
        """The `gateway/routes` document changed: rebuild the table, keep the old on error."""
        try:
            table = build_table(content, version)
        except Invalid as exc:
            log.error("routes.rejected", version=version, field=exc.field, error=exc.message)
            return
        self.upstreams.configure(table)
        self.table = table
        log.info("routes.applied", version=version, routes=len(table.routes))

    def client_ip(self, scope: Any, forwarded_for: str | None) -> str:
        peer = scope.get("client")
        return client_address(peer[0] if peer else None, forwarded_for, self.trusted)

    async def handle(self, request: Request) -> Response:
        scope = request.scope
        path, method = scope["path"], scope["method"]
        route = self.table.match(path) if safe_path(path) else None
        started = time.perf_counter()
        service = route.service if route else "none"
        label = route.prefix if route else "unmatched"
        scope["route"] = _RouteLabel(label)
        try:
            if route is None:
                raise NotFound(f"no route for {path}")
            response = await self._serve(request, route)
        except ArgosyError as exc:
            response = self._error(exc, credentials="authorization" in request.headers)
        status = response.status_code
        if route is not None:
            if route.version:
                response.headers["x-argosy-api-version"] = route.version
            for name, value in route.lifecycle_headers():
                response.headers.append(name, value)
        self.metrics.requests.labels(label, method, str(status), service).inc()
        self.metrics.latency.labels(label, method, service).observe(time.perf_counter() - started)
        return response

    async def _serve(self, request: Request, route: Route) -> Response:
        if route.is_sunset(time.time()):
            raise Gone(f"{route.prefix} was retired", field="path")
        headers = request.headers
        ip = self.client_ip(request.scope, headers.get("x-forwarded-for"))
        with self.admission.hold(ip):
            await self.limiter.check(ip=ip)
            principal, body = await self._authenticate(request, route, ip)
            permission = route.permission_for(request.method)
            if route.auth == "user" or permission:
                if principal is None:
                    raise Unauthorized("authentication required")
                if permission and not principal.allows(permission):
                    raise Forbidden(f"{permission} required", field="permission")
            await self.limiter.check(
                identity=principal.subject if principal else None, route=route
            )
            if body is None:
                body = await self._read_body(request)
            ctx = structlog.contextvars.get_contextvars()
            if principal is not None:
                structlog.contextvars.bind_contextvars(subject=principal.subject)
            return await self.proxy.forward(
                request.scope, route, body=body, client_ip=ip,
                identity=self.minter.token(principal) if principal else None,
                request_id=ctx.get("request_id"), correlation_id=ctx.get("correlation_id"),
            )

    async def _authenticate(
        self, request: Request, route: Route, ip: str
    ) -> tuple[Principal | None, bytes | None]:
        headers = request.headers
        signed = parse_signed_headers(headers.get)
        token = _bearer(headers.get("authorization"))
        if signed is not None and token is not None:
            raise Unauthorized("send a bearer token or an API-key signature, not both")
        try:
            if signed is not None:
                body = await self._read_body(request)
                raw_path = request.scope.get("raw_path") or b""
                principal = await self.apikeys.authenticate(
                    signed, method=request.method, query=request.url.query, body=body, ip=ip,
                    paths=(raw_path.decode("latin-1"), request.scope["path"]),
                )
                return principal, body
            if token is not None:
                return principal_of(await self.bearer.verify(token)), None
        except Unauthorized as exc:
            self.metrics.auth_failures.labels("api_key" if signed else "bearer").inc()
            if route.auth == "user":
                raise
            log.info("credentials.ignored_on_public_route", reason=exc.message)
        return None, None

    async def _read_body(self, request: Request) -> bytes:
        limit = self._max_body()
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"request body over {limit} bytes", field="body")
        chunks, size = [], 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"request body over {limit} bytes", field="body")
                chunks.append(chunk)
        except ClientDisconnect:  # nobody is left to answer; not a server error
            raise Invalid("client disconnected while sending the body", field="body") from None
        return b"".join(chunks)

    def _error(self, exc: ArgosyError, *, credentials: bool) -> Response:
        status = _STATUS.get(type(exc)) or status_for(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        if isinstance(exc, Unauthorized):
            challenge = 'Bearer realm="argosy"'
            if credentials:
                reason = exc.message.replace('"', "'")
                challenge += f', error="invalid_token", error_description="{reason}"'
            headers["WWW-Authenticate"] = challenge
        if status >= 500:
            log.warning("request.failed", code=exc.code, message=exc.message)
        else:
            log.info("request.rejected", code=exc.code, message=exc.message, field=exc.field)
        return JsonResponse(error_body(exc.code, exc.message, exc.field, exc.details), status,
                            headers=headers)
