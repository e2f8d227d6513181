"""What the HTTP-based senders share: one pooled httpx client and a translation of
transport failures into outcomes that never quote a URL (it may hold a bot token)."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx

from argosy.services.notification.domain.addresses import is_public_ip
from argosy.services.notification.domain.outcomes import Retry

__all__ = ["make_client", "resolves_public", "retry_after", "transport_failure"]


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying context for every client: loading the CA bundle costs ~30 ms each."""
    return ssl.create_default_context(cafile=certifi.where())


def make_client(timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s), follow_redirects=False, verify=_tls(),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        headers={"user-agent": "Argosy-Notifications/1"},
    )


def transport_failure(exc: Exception) -> Retry:
    if isinstance(exc, httpx.TimeoutException):
        return Retry(f"timeout ({type(exc).__name__})")
    return Retry(f"connection failed ({type(exc).__name__})")


def retry_after(response: httpx.Response, body: Any = None) -> float | None:
    """Seconds from a Retry-After header (delta or HTTP date) or a JSON hint."""
    value = response.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                return None
    if isinstance(body, dict):
        hint = (body.get("parameters") or {}).get("retry_after")
        if isinstance(hint, int | float):
            return float(hint)
    return None


async def resolves_public(url: str) -> bool:
    """True unless the URL's host resolves to a private, loopback or link-local address:
    checked right before sending, so a public name later pointed inside is refused."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname or "", port, type=socket.SOCK_STREAM)
    except OSError:
        return True  # unresolvable: the request fails as a retryable connect error
    return all(is_public_ip(ipaddress.ip_address(info[4][0])) for info in infos)
