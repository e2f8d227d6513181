"""How uvicorn must run the gateway: TLS 1.3 only when a certificate is set, and limits.

uvicorn's plain ssl options cannot say "TLS 1.3 only" (it builds the context from a
protocol constant), so the options carry an `ssl_context_factory` that takes uvicorn's
default context and raises its minimum version. They also turn off uvicorn's
X-Forwarded-For rewriting (the gateway decides whom to believe: `trusted_proxies`) and cap
what one client can make uvicorn buffer.

`uvicorn_options(app)` returns keyword arguments for `uvicorn.Config`; `argosy serve
gateway` (and so `argosy run`) passes them: the CLI asks each service's app module for it.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from argosy.services.gateway.settings import GatewaySettings

__all__ = ["quiet_websocket_handshake_log", "tls13_only", "uvicorn_options"]

_WS_MAX_MESSAGE = 65_536  # client messages are small JSON commands
_HEADER_LIMIT = 16_384


class _NoWebSocketHandshakeLines(logging.Filter):
    """uvicorn logs every WebSocket handshake at info, path *and query string* included:
    `?token=<access token>` then crosses the secret redaction on every connect (measured:
    ~1 ms of regex per line on a JWT, most of a connect's cost at 10,000 clients). The
    platform's request middleware already logs each connection without the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        return '"WebSocket %s"' not in str(record.msg)


_HANDSHAKE_FILTER = _NoWebSocketHandshakeLines()


def quiet_websocket_handshake_log() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _HANDSHAKE_FILTER not in logger.filters:
        logger.addFilter(_HANDSHAKE_FILTER)


def tls13_only(_config: uvicorn.Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's context (certificate, key, ALPN) with everything older than TLS 1.3 off."""
    ctx = default()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def uvicorn_options(app: FastAPI) -> dict[str, Any]:
    settings: GatewaySettings = app.state.runtime.spec.settings
    options: dict[str, Any] = {
        "proxy_headers": False,
        "ws_max_size": _WS_MAX_MESSAGE,
        "h11_max_incomplete_event_size": _HEADER_LIMIT,
        # uvicorn answers 503 past this many connections + tasks: a backstop behind the
        # gateway's own total and per-IP caps, which answer with a reason first.
        "limit_concurrency": settings.max_connections * 2 + 100,
        # one market frame fans out to thousands of clients: compressing it once per
        # client would cost more CPU than the fan-out itself
        "ws_per_message_deflate": False,
    }
    if settings.tls_certfile is not None and settings.tls_keyfile is not None:
        options.update(
            ssl_certfile=str(settings.tls_certfile), ssl_keyfile=str(settings.tls_keyfile),
            ssl_context_factory=tls13_only,
        )
    return options
