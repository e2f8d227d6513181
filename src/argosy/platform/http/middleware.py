"""Request context: ids, access log, metrics and the last-resort 500, as one ASGI layer.

Pure ASGI (not BaseHTTPMiddleware) so streaming responses and contextvars behave.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from argosy.contracts import headers as h
from argosy.platform.http.errors import unexpected_error_response
from argosy.platform.metrics import Metrics

__all__ = ["RequestContextMiddleware"]

log = structlog.get_logger("argosy.http")

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET = ("/healthz", "/readyz", "/metrics")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text if _SAFE_ID.match(text) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, h.REQUEST_ID.encode()) or uuid.uuid4().hex
        correlation_id = _header(scope, h.CORRELATION_ID.encode()) or request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, correlation_id=correlation_id
        )
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                headers = list(message.get("headers", []))
                headers.append((h.REQUEST_ID.encode(), request_id.encode()))
                headers.append((h.CORRELATION_ID.encode(), correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            if scope["type"] != "http" or state["started"]:
                raise
            await unexpected_error_response(exc)(scope, receive, send_wrapper)
        finally:
            self._record(scope, state["status"], time.perf_counter() - started)
            structlog.contextvars.clear_contextvars()

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "WS")
        self.metrics.http_requests.labels(self.metrics.service, method, template, status).inc()
        self.metrics.http_latency.labels(self.metrics.service, method, template).observe(seconds)
        path = scope.get("path", "")
        level = "debug" if path in _QUIET else "info"
        getattr(log, level)(
            "request", method=method, path=path, route=template, status=status,
            duration_ms=round(seconds * 1000, 2),
        )
