"""POST/GET /api/v1/optimizations: parse, call the service, map.

No `from __future__ import annotations`: FastAPI must see the local `Who` type.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from argosy.platform.auth.internal import Principal
from argosy.services.strategy.optimizer_service import OptimizationService
from argosy.services.strategy.schemas_opt import OptimizationRequest

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    404: {"description": "Unknown optimization or dataset"},
    422: {"description": "Unknown strategy or objective, a range outside the declared one, "
                         "no bars in the range; `error.field` names the input"},
}


def router(svc: OptimizationService, identity: Callable[[Request], Awaitable[Principal]]
           ) -> APIRouter:
    r = APIRouter(prefix="/api/v1/optimizations", tags=["optimization"], responses=_ERRORS)
    Who = Annotated[Principal, Depends(identity)]  # noqa: N806  (a type alias)

    @r.post("", status_code=202, summary="Start a grid, random, TPE or NSGA-II search")
    async def create(body: OptimizationRequest, p: Who) -> dict[str, Any]:
        return await svc.create(p, body)

    @r.get("", summary="Recent searches (without their results)")
    async def listing(p: Who, limit: Annotated[int, Query(ge=1, le=500)] = 50
                      ) -> dict[str, Any]:
        return {"items": await svc.recent(limit, p.subject)}  # only the caller's

    @r.get("/{optimization_id}",
           summary="State, progress, best trials (the Pareto front for several objectives), "
                   "top trials and the walk-forward report")
    async def get(optimization_id: Annotated[str, Path(max_length=40)], p: Who
                  ) -> dict[str, Any]:
        return await svc.get(optimization_id, p.subject)

    return r
