"""Request dependencies shared by the routers: the client's address and the caller.

No `from __future__ import annotations` in api/: FastAPI reads these types at runtime.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from argosy.platform.auth.internal import Principal
from argosy.services.users.domain.network import client_ip
from argosy.services.users.service._context import Caller, Client

__all__ = ["ERRORS", "RequestDeps"]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity (or wrong credentials on /auth)"},
    403: {"description": "The identity lacks the permission"},
    404: {"description": "No such object in your organisation"},
    409: {"description": "Conflicts with the current state"},
    422: {"description": "Invalid input; `error.field` names the field"},
    429: {"description": "Throttled; see Retry-After"},
}


@dataclass(frozen=True)
class RequestDeps:
    identity: Callable[[Request], Awaitable[Principal]]
    trusted_proxies: tuple[str, ...]

    def client(self, request: Request) -> Client:
        peer = request.client.host if request.client else None
        ip = client_ip(peer, request.headers.get("x-forwarded-for"), self.trusted_proxies)
        return Client(ip=ip, user_agent=request.headers.get("user-agent", "")[:512])

    async def caller(self, request: Request) -> Caller:
        principal = await self.identity(request)
        return Caller.of(principal, self.client(request))

    async def principal(self, request: Request) -> Principal:
        return await self.identity(request)
