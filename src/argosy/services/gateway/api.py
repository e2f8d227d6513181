"""The gateway's HTTP surface: docs, the merged OpenAPI, `/ws`, and the proxy.

Proxied requests take a fast path: a pure ASGI layer just inside the platform's request
middleware (ids, access log, metrics) hands every path the route table owns straight to
the gateway, skipping FastAPI's router and dependency machinery (measured: about a fifth
of the gateway's CPU per request). Route prefixes can never name the gateway's own paths
(`/healthz`, `/readyz`, `/metrics`, `/internal`, `/docs`, `/openapi.json`, `/ws`;
domain/routes.py refuses them), so those still reach their FastAPI routes; anything else
falls to a catch-all that answers the route table's 404. The service's own `/openapi.json`
is replaced by the platform-wide one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, WebSocket
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from argosy.platform.auth.internal import Principal
from argosy.services.gateway.docs import ASSETS_DIR, INIT_JS, OpenApiAggregator, swagger_page
from argosy.services.gateway.domain.routes import METHODS
from argosy.services.gateway.service import Gateway
from argosy.services.gateway.streams.endpoint import WsEndpoint

__all__ = ["ProxyFastPath", "install", "own_document"]


class ProxyFastPath:
    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app, self.gateway = app, gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.gateway.table.match(scope["path"]) is not None:
            response = await self.gateway.handle(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _router(
    aggregator: OpenApiAggregator,
    ws_endpoint: WsEndpoint,
    status_guard: Callable[[Request], Awaitable[Principal]],
    status: Callable[[], dict[str, Any]],
) -> APIRouter:
    router = APIRouter()

    @router.get("/internal/gateway", tags=["operations"],
                summary="Route table version, upstream health and circuits, WebSocket channels")
    async def gateway_status(_: Principal = Depends(status_guard)) -> dict[str, Any]:
        return status()

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(await aggregator.document())

    @router.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return swagger_page()

    @router.get("/docs/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(INIT_JS, media_type="application/javascript")

    @router.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await ws_endpoint(websocket)

    return router


def install(
    app: FastAPI,
    gateway: Gateway,
    aggregator: OpenApiAggregator,
    ws_endpoint: WsEndpoint,
    *,
    status_guard: Callable[[Request], Awaitable[Principal]],
    status: Callable[[], dict[str, Any]],
) -> None:
    own_openapi = app.openapi
    app.router.routes[:] = [r for r in app.router.routes
                            if getattr(r, "path", None) != app.openapi_url]
    app.include_router(_router(aggregator, ws_endpoint, status_guard, status))
    app.mount("/docs/assets", StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    async def proxied(request: Request) -> Response:
        return await gateway.handle(request)

    app.router.routes.append(Route("/{path:path}", proxied, methods=list(METHODS),
                                   include_in_schema=False))
    # innermost user middleware: inside the platform's RequestContextMiddleware
    app.user_middleware.append(Middleware(ProxyFastPath, gateway=gateway))
    app.state.own_openapi = own_openapi


def own_document(app: FastAPI) -> dict[str, Any]:
    document: dict[str, Any] = app.state.own_openapi()
    return document
