"""/healthz (the process is alive), /readyz (its dependencies answer), /metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response

from argosy.platform.http.responses import JsonResponse
from argosy.platform.metrics import CONTENT_TYPE_LATEST, Metrics

__all__ = ["health_router"]


def health_router(
    *,
    service: str,
    version: str,
    metrics: Metrics,
    readiness: Callable[[], Awaitable[dict[str, dict[str, Any]]]],
) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service, "version": version}

    @router.get(
        "/readyz",
        summary="Readiness: every dependency answers",
        responses={503: {"description": "A dependency is down; the body names it."}},
    )
    async def readyz() -> JsonResponse:
        checks = await readiness()
        ok = all(c["ok"] for c in checks.values())
        body = {"status": "ready" if ok else "not_ready", "service": service, "checks": checks}
        return JsonResponse(body, 200 if ok else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return router
