"""Build a service's FastAPI application around its runtime: the same shell for all nine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from argosy.platform.auth.internal import Principal
from argosy.platform.http.errors import install_error_handlers
from argosy.platform.http.health import health_router
from argosy.platform.http.identity import permission_dependency
from argosy.platform.http.middleware import RequestContextMiddleware
from argosy.platform.runtime.service import ServiceRuntime

__all__ = ["create_service_app"]


def create_service_app(
    runtime: ServiceRuntime,
    routers: Sequence[APIRouter] = (),
    *,
    title: str | None = None,
    description: str = "",
) -> FastAPI:
    app = FastAPI(
        title=title or f"Argosy {runtime.name}",
        version=runtime.version,
        description=description or runtime.spec.description,
        lifespan=runtime.lifespan,
        docs_url=None,  # the gateway serves the docs UI from local assets
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=runtime.metrics)
    app.include_router(
        health_router(
            service=runtime.name, version=runtime.version, metrics=runtime.metrics,
            readiness=runtime.readiness,
        )
    )
    app.include_router(_runtime_router(runtime))
    for router in routers:
        app.include_router(router)
    return app


def _runtime_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])
    require = permission_dependency(runtime.auth, "ops:read")

    @router.get(
        "/internal/runtime",
        summary="Effective reloadable settings and applied config versions",
        description="For operators and tests: proves a config push reached this process.",
    )
    async def runtime_state(_: Principal = Depends(require)) -> dict[str, Any]:
        return {
            "service": runtime.name,
            "version": runtime.version,
            "settings": runtime.live.settings.model_dump(mode="json"),
            "config": runtime.live.status(),
        }

    return router
