"""Public REST API of execution algorithms (/api/v1/algos): TWAP, VWAP, iceberg, POV and
smart order routing. Children are ordinary orders (GET /api/v1/orders shows them too).
No `from __future__ import annotations`: FastAPI reads these types.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from argosy.contracts.v1.trading import AlgoIn, AlgoOut
from argosy.platform.auth.internal import Principal
from argosy.services.trading.service._context import Caller
from argosy.services.trading.service.algos import AlgoService

__all__ = ["router"]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    403: {"description": "The identity lacks orders:read/write"},
    404: {"description": "No such algorithm or account of yours"},
    409: {"description": "Pause/resume/cancel in the wrong state, or client_algo_id reused "
                         "with other parameters"},
    422: {"description": "Invalid request; `error.field` names the field (`params.<name>` "
                         "for the per-type parameters)"},
    503: {"description": "A dependency is down: market-data for a VWAP profile or a SOR "
                         "book, or the account's reconciliation has not succeeded yet"},
}

Id = Annotated[str, Path(max_length=40)]


def router(identity: Callable[[Request], Awaitable[Principal]], algos: AlgoService
           ) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["algos"], responses=ERRORS)

    async def caller(request: Request) -> Caller:
        return Caller.of(await identity(request))

    Who = Annotated[Caller, Depends(caller)]  # noqa: N806

    @r.post("/algos", status_code=201, summary="Start an execution algorithm",
            description="`type`: twap, vwap, iceberg, pov or sor. The answer is the parent "
            "after its first step (a due slice or the SOR children already sent); for sor "
            "it carries `plan`: per venue account the quantity, limit, expected price, fees "
            "and why. Repeating a `client_algo_id` with the same body returns the same "
            "algorithm (200), with another body 409.")
    async def create(body: AlgoIn, c: Who, response: Response) -> AlgoOut:
        out, created = await algos.create(c, body)
        if not created:
            response.status_code = 200
        return out

    @r.get("/algos", summary="My algorithms, newest first")
    async def list_algos(
        c: Who, limit: Annotated[int, Query(ge=1, le=500)] = 100,
        status: Annotated[str | None, Query(description="Comma-separated statuses")] = None,
    ) -> dict[str, list[AlgoOut]]:
        return {"items": await algos.list_algos(c, status, limit)}

    @r.get("/algos/{algo_id}", summary="One algorithm: status, progress, children")
    async def get_algo(algo_id: Id, c: Who) -> AlgoOut:
        return await algos.get(c, algo_id)

    @r.delete("/algos/{algo_id}", summary="Cancel an algorithm",
              description="Cancels its open children; 409 once completed or stopped.")
    async def cancel(algo_id: Id, c: Who) -> AlgoOut:
        return await algos.cancel(c, algo_id)

    @r.post("/algos/{algo_id}/pause", summary="Pause: cancel open children, stop slicing",
            description="TWAP/VWAP schedules move later by the time spent paused.")
    async def pause(algo_id: Id, c: Who) -> AlgoOut:
        return await algos.pause(c, algo_id)

    @r.post("/algos/{algo_id}/resume", summary="Resume a paused algorithm")
    async def resume(algo_id: Id, c: Who) -> AlgoOut:
        return await algos.resume(c, algo_id)

    return r
