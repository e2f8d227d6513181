"""The platform's API documentation: `/openapi.json` merged from every service, `/docs`.

Each service's document is fetched from one of its instances and kept for
`openapi_cache_s`; a service that does not answer keeps its last good document, or is
listed as unavailable in the merged one, so the docs never fail because one service is
down. Swagger UI is served from the swagger-ui-bundle wheel: this machine (and many
deployments) cannot reach a CDN.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
import swagger_ui_bundle  # type: ignore[import-untyped]
from starlette.responses import HTMLResponse

from argosy.kernel.errors import ArgosyError
from argosy.services.gateway.domain.openapi import merge_openapi
from argosy.services.gateway.domain.routes import RouteTable
from argosy.services.gateway.upstreams import Upstreams

__all__ = ["ASSETS_DIR", "INIT_JS", "OpenApiAggregator", "swagger_page"]

log = structlog.get_logger("argosy.gateway.docs")

ASSETS_DIR = Path(swagger_ui_bundle.swagger_ui_path)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Argosy API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body></html>"""

# validatorUrl: Swagger UI's default sends every visitor's browser to validator.swagger.io
# with the document's URL (a badge image): an external call, and a dead image offline.
INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout", persistAuthorization: true, validatorUrl: null
});"""


def swagger_page() -> HTMLResponse:
    return HTMLResponse(_PAGE)


class OpenApiAggregator:
    def __init__(
        self,
        upstreams: Upstreams,
        table: Callable[[], RouteTable],
        own: Callable[[], dict[str, Any]],
        *,
        version: str,
        cache_s: float,
    ) -> None:
        self._upstreams, self._table, self._own = upstreams, table, own
        self._version, self._cache_s = version, cache_s
        self._docs: dict[str, tuple[dict[str, Any], float]] = {}
        self._merged: tuple[dict[str, Any], float, int] | None = None
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        table = self._table()
        now = time.monotonic()
        if self._merged and self._merged[1] > now and self._merged[2] == table.version:
            return self._merged[0]
        async with self._lock:
            services = sorted(table.services())
            fetched = await asyncio.gather(*(self._fetch(s) for s in services))
            docs: dict[str, dict[str, Any] | None] = dict(zip(services, fetched, strict=True))
            merged = merge_openapi(
                docs, owner=table.owner,
                public=lambda p: (r := table.match(p)) is not None and r.auth == "public",
                title="Argosy API", version=self._version,
                description="Every service of the platform, as served by the gateway. "
                            "Real-time streams: WebSocket `/ws` (see the gateway docs).",
            )
            merged["paths"].update(_gateway_paths(self._own()))
            self._merged = (merged, time.monotonic() + self._cache_s, table.version)
            return merged

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        cached = self._docs.get(service)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        try:
            status, body = await self._upstreams.get_json(service, "/openapi.json", {},
                                                          timeout_s=2.0)
        except ArgosyError as exc:
            status, body = 503, None
            log.info("openapi.fetch_failed", service=service, error=exc.message)
        if status == 200 and isinstance(body, dict):
            self._docs[service] = (body, time.monotonic() + self._cache_s)
            return body
        return cached[0] if cached is not None else None  # last good copy, however old


def _gateway_paths(own: dict[str, Any]) -> dict[str, Any]:
    """The gateway's own public paths (health, docs) beside the services'."""
    keep = ("/healthz", "/readyz")
    return {p: v for p, v in (own.get("paths") or {}).items() if p in keep}
