"""HTTP calls to another service: identity, tracing headers, and errors translated back.

The callee's error body `{"error": {...}}` becomes the same kernel error on this side, so a
422 from the config service is an `Invalid` with the same field here. A callee that cannot
be reached is `Unavailable(dependency=<service>)`.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog

from argosy.contracts import headers as h
from argosy.kernel import errors as e
from argosy.platform.auth.internal import InternalAuth, Principal

__all__ = ["ServiceClient"]

_BY_STATUS: dict[int, type[e.ArgosyError]] = {
    401: e.Unauthorized, 403: e.Forbidden, 404: e.NotFound, 409: e.Conflict, 422: e.Invalid,
    400: e.Invalid,
}


class ServiceClient:
    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        auth: InternalAuth,
        caller: Principal,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        self._auth, self._caller = auth, caller
        self._token: tuple[str, float] | None = None
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout_s, transport=transport,
            headers={"user-agent": f"argosy/{caller.subject}"},
        )

    async def close(self) -> None:
        await self._http.aclose()

    def _identity(self) -> str:
        now = time.monotonic()
        if self._token is None or self._token[1] < now:
            self._token = (self._auth.mint(self._caller, ttl_s=300), now + 240)
        return self._token[0]

    def _headers(self) -> dict[str, str]:
        hdrs = {h.IDENTITY: self._identity()}
        ctx = structlog.contextvars.get_contextvars()
        if ctx.get("correlation_id"):
            hdrs[h.CORRELATION_ID] = str(ctx["correlation_id"])
        if ctx.get("request_id"):
            hdrs[h.REQUEST_ID] = str(ctx["request_id"])
        return hdrs

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = await self._http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.TransportError as exc:
            raise e.Unavailable(
                f"{self.service} unreachable: {type(exc).__name__}", dependency=self.service
            ) from exc
        if resp.status_code >= 400:
            raise self._error(resp)
        return resp

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        return (await self.request("GET", path, **kwargs)).json()

    async def put_json(self, path: str, body: Any) -> Any:
        return (await self.request("PUT", path, json=body)).json()

    async def post_json(self, path: str, body: Any) -> Any:
        return (await self.request("POST", path, json=body)).json()

    def _error(self, resp: httpx.Response) -> e.ArgosyError:
        try:
            err = resp.json()["error"]
            message, field, code = str(err["message"]), err.get("field"), err.get("code")
        except (ValueError, KeyError, TypeError):
            message, field, code = resp.text[:200] or resp.reason_phrase, None, None
        message = f"{self.service}: {message}"
        if resp.status_code == 429:
            retry = _retry_after(resp.headers.get("retry-after"))
            return e.RateLimited(message, retry_after=retry, field=field)
        if resp.status_code >= 500:
            return e.Unavailable(message, dependency=self.service)
        cls = _BY_STATUS.get(resp.status_code, e.Invalid)
        return cls(message, field=field, code=code)


def _retry_after(value: str | None) -> float:
    """Retry-After is seconds or an HTTP date (RFC 9110); anything else means 1 s."""
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 1.0
    return max(1.0, when.timestamp() - time.time())
