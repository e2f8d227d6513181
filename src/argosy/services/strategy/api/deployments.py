"""POST/GET /api/v1/deployments and the stop, pause and resume actions.

No `from __future__ import annotations`: FastAPI must see the local `Who` type.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from argosy.platform.auth.internal import Principal
from argosy.services.strategy.deployments import DeploymentService
from argosy.services.strategy.schemas_dep import DeploymentRequest

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    403: {"description": "Not a user: deployments trade for an account's owner"},
    404: {"description": "Unknown deployment, or not an account of yours"},
    409: {"description": "The deployment is stopped"},
    422: {"description": "Unknown strategy, parameter out of its declared range, "
                         "instrument not tradable; `error.field` names the input"},
}


def router(svc: DeploymentService, identity: Callable[[Request], Awaitable[Principal]]
           ) -> APIRouter:
    r = APIRouter(prefix="/api/v1/deployments", tags=["deployments"], responses=_ERRORS)
    Who = Annotated[Principal, Depends(identity)]  # noqa: N806  (a type alias)
    Id = Annotated[str, Path(max_length=40)]  # noqa: N806

    @r.post("", status_code=201, summary="Run a strategy live on one of your accounts")
    async def create(body: DeploymentRequest, p: Who) -> dict[str, Any]:
        return await svc.create(p, body)

    @r.get("", summary="Your deployments, newest first")
    async def listing(p: Who, limit: Annotated[int, Query(ge=1, le=500)] = 50
                      ) -> dict[str, Any]:
        return {"items": await svc.listing(p, limit)}

    @r.get("/{deployment_id}", summary="A deployment: state, error, orders, fills and PnL")
    async def one(deployment_id: Id, p: Who) -> dict[str, Any]:
        return await svc.get(p, deployment_id)

    @r.post("/{deployment_id}/stop", summary="Stop: the strategy's open orders are cancelled")
    async def stop(deployment_id: Id, p: Who) -> dict[str, Any]:
        return await svc.stop(p, deployment_id)

    @r.post("/{deployment_id}/pause",
            summary="Pause: no market data reaches the strategy (fills still do)")
    async def pause(deployment_id: Id, p: Who) -> dict[str, Any]:
        return await svc.pause(p, deployment_id)

    @r.post("/{deployment_id}/resume", summary="Resume a paused deployment")
    async def resume(deployment_id: Id, p: Who) -> dict[str, Any]:
        return await svc.resume(p, deployment_id)

    return r
