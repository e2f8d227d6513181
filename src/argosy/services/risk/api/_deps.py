"""What the routers share: who is calling, and the error responses they document.

No `from __future__ import annotations` in api/: FastAPI reads these types at runtime.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from argosy.kernel.errors import Forbidden
from argosy.platform.auth.internal import Principal
from argosy.services.risk.service._context import Caller

__all__ = ["ERRORS", "RequestDeps"]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    403: {"description": "The identity lacks the permission"},
    404: {"description": "No such object of yours"},
    409: {"description": "Version conflict (`expected_version`)"},
    422: {"description": "Invalid input; `error.field` names the field (e.g. `rules[2].limit`)"},
}


@dataclass(frozen=True)
class RequestDeps:
    identity: Callable[[Request], Awaitable[Principal]]

    async def caller(self, request: Request) -> Caller:
        return Caller.of(await self.identity(request))

    async def service(self, request: Request) -> Principal:
        p = await self.identity(request)
        if p.kind not in ("service", "operator"):
            raise Forbidden("internal route: services and operators only")
        return p
