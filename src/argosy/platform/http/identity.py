"""FastAPI dependencies that turn the `x-argosy-identity` header into a Principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from argosy.contracts import headers as h
from argosy.platform.auth.internal import InternalAuth, Principal

__all__ = ["identity_dependency", "permission_dependency"]


def identity_dependency(auth: InternalAuth) -> Callable[[Request], Awaitable[Principal]]:
    async def identity(request: Request) -> Principal:
        principal = auth.verify(request.headers.get(h.IDENTITY))
        request.state.principal = principal
        return principal

    return identity


def permission_dependency(
    auth: InternalAuth, permission: str
) -> Callable[[Request], Awaitable[Principal]]:
    verify = identity_dependency(auth)

    async def require(request: Request) -> Principal:
        principal = await verify(request)
        principal.require(permission)
        return principal

    return require
