"""GET/POST /api/v1/models: the ML model registry. Parse, call the service, map.

No `from __future__ import annotations`: FastAPI must see the local `Who` type.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from argosy.platform.auth.internal import Principal
from argosy.services.strategy.models_registry import ModelService
from argosy.services.strategy.schemas_opt import ModelTrainRequest

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    404: {"description": "Unknown model, version or dataset"},
    422: {"description": "Unknown model kind or feature, too few bars for the folds, "
                         "bad estimator parameters; `error.field` names the input"},
}


def router(svc: ModelService, identity: Callable[[Request], Awaitable[Principal]]
           ) -> APIRouter:
    r = APIRouter(prefix="/api/v1/models", tags=["models"], responses=_ERRORS)
    Who = Annotated[Principal, Depends(identity)]  # noqa: N806  (a type alias)

    @r.get("", summary="Registered models, each with its latest version's metrics")
    async def listing(p: Who) -> dict[str, Any]:
        return {"items": await svc.listing(p.subject)}  # only the caller's models

    @r.post("", status_code=201,
            summary="Train with purged time-series CV and register the next version")
    async def train(body: ModelTrainRequest, p: Who) -> dict[str, Any]:
        return await svc.train(p, body)

    @r.get("/{name}", summary="One model's version (latest by default) with its metrics")
    async def get(name: Annotated[str, Path(max_length=64)], p: Who,
                  version: Annotated[int | None, Query(ge=1)] = None) -> dict[str, Any]:
        return await svc.get(name, version, p.subject)

    return r
