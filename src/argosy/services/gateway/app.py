"""Wiring of the gateway service (8080): every part built from settings, then the app.

`uvicorn_options(app)` (serving.py) is re-exported here: the uvicorn keyword arguments the
gateway needs (TLS 1.3 only, buffer caps), for the process that serves this module's app.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from fastapi import FastAPI

from argosy.platform.http.identity import permission_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.live import ConfigNamespace
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.gateway import api
from argosy.services.gateway.apikeys import ApiKeys
from argosy.services.gateway.authn import BearerAuth, IdentityMinter, Jwks, Revocations
from argosy.services.gateway.docs import OpenApiAggregator
from argosy.services.gateway.domain.addresses import parse_networks
from argosy.services.gateway.domain.routes import ROUTES_SCHEMA
from argosy.services.gateway.events import GatewayEvents
from argosy.services.gateway.metrics import GatewayMetrics
from argosy.services.gateway.proxy import Proxy
from argosy.services.gateway.ratelimit import Admission, RateLimiter
from argosy.services.gateway.service import Gateway
from argosy.services.gateway.serving import quiet_websocket_handshake_log, uvicorn_options
from argosy.services.gateway.settings import GatewayLiveSettings, GatewaySettings
from argosy.services.gateway.streams.accounts import AccountDirectory
from argosy.services.gateway.streams.endpoint import WsEndpoint
from argosy.services.gateway.streams.hub import Hub
from argosy.services.gateway.upstreams import Upstreams

__all__ = ["GatewayParts", "create_app", "uvicorn_options"]

DESCRIPTION = (
    "Single entry point for clients: routing, authentication, rate limits and the "
    "WebSocket hub (issue #4)."
)


@dataclass(frozen=True)
class GatewayParts:
    """What app.state.gateway holds: the parts operators' views and tests look at."""

    runtime: ServiceRuntime
    gateway: Gateway
    upstreams: Upstreams
    jwks: Jwks
    apikeys: ApiKeys
    hub: Hub
    accounts: AccountDirectory
    events: GatewayEvents


def create_app(
    platform: PlatformSettings | None = None, settings: GatewaySettings | None = None
) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    settings = settings or load_settings(GatewaySettings)
    routes_ns = ConfigNamespace(
        "routes", ROUTES_SCHEMA,
        "Route table merged over the built-in one: prefixes, owning service, auth, "
        "permissions, timeouts, retries, deprecation; upstream instances and balancer.",
    )
    rt = ServiceRuntime(
        ServiceSpec(
            name="gateway", settings=settings, description=DESCRIPTION,
            uses=frozenset({"db", "cache"}), migrations=Path(__file__).parent / "migrations",
            runtime_model=GatewayLiveSettings, namespaces=[routes_ns],
        ),
        platform,
    )

    def live() -> GatewayLiveSettings:
        return cast(GatewayLiveSettings, rt.live.settings)

    metrics = GatewayMetrics(rt.metrics)
    upstreams = Upstreams(platform, settings, metrics)
    users = rt.client("users")
    jwks = Jwks(lambda: users.get_json("/.well-known/jwks.json"),
                refresh_s=settings.jwks_refresh_s, min_refresh_s=settings.jwks_min_refresh_s)
    bearer = BearerAuth(jwks, Revocations(rt.cache, settings.session_revocation_ttl_s),
                        leeway_s=settings.token_leeway_s)
    apikeys = ApiKeys(users, rt.cache, grant_ttl_s=settings.grant_cache_s)
    minter = IdentityMinter(rt.auth)
    admission = Admission(max_total=settings.max_connections,
                          max_per_ip=settings.max_connections_per_ip)
    gateway = Gateway(
        upstreams=upstreams, proxy=Proxy(upstreams, metrics), bearer=bearer, apikeys=apikeys,
        limiter=RateLimiter(rt.cache, live, metrics), admission=admission, minter=minter,
        metrics=metrics, max_body=lambda: live().max_body_bytes,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    routes_ns.on_change = gateway.on_routes
    hub = Hub(rt.bus, metrics, ping_interval_s=settings.ws_ping_interval_s,
              ping_timeout_s=settings.ws_ping_timeout_s)
    accounts = AccountDirectory(upstreams, minter, ttl_s=settings.accounts_cache_s)
    ws_endpoint = WsEndpoint(
        hub, bearer, accounts, admission, settings,
        client_ip=lambda ws: gateway.client_ip(ws.scope, ws.headers.get("x-forwarded-for")),
    )
    events = GatewayEvents(rt.bus, bearer, apikeys, on_session_revoked=hub.drop_session)

    async def keep_upstream_client() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await upstreams.close()

    rt.background("upstream-client", keep_upstream_client)
    rt.background("upstream-health", upstreams.run_health_checks)
    rt.background("jwks", jwks.run)
    rt.background("revocations", events.run, needs=("bus",))
    rt.background("ws-heartbeat", hub.run_heartbeat)

    quiet_websocket_handshake_log()
    app = create_service_app(rt)
    aggregator = OpenApiAggregator(
        upstreams, lambda: gateway.table, lambda: api.own_document(app),
        version=rt.version, cache_s=settings.openapi_cache_s,
    )
    parts = GatewayParts(rt, gateway, upstreams, jwks, apikeys, hub, accounts, events)
    api.install(app, parts.gateway, aggregator, ws_endpoint,
                status_guard=permission_dependency(rt.auth, "ops:read"),
                status=lambda: {"routes_version": gateway.table.version,
                                "upstreams": upstreams.status(),
                                "ws": {"connections": len(hub.connections),
                                       "channels": hub.channels()}})
    app.state.gateway = parts
    return app
