"""GET /api/v1/strategies and the backtest routes: parse, call the service, map.

No `from __future__ import annotations`: FastAPI must see the local `Who` type.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from argosy.platform.auth.internal import Principal
from argosy.services.strategy.schemas import BacktestRequest
from argosy.services.strategy.service import StrategyService

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    404: {"description": "Unknown backtest, or no recorded data for an instrument"},
    422: {"description": "Invalid request: unknown strategy, parameter out of range, "
                         "no data in the range; `error.field` names the input"},
}


def router(svc: StrategyService, identity: Callable[[Request], Awaitable[Principal]]
           ) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["strategy"], responses=_ERRORS)
    Who = Annotated[Principal, Depends(identity)]  # noqa: N806  (a type alias)

    @r.get("/strategies", summary="Strategies with their parameters, plugin errors, datasets")
    async def strategies(p: Who) -> dict[str, Any]:
        return svc.strategies()

    @r.post("/backtests", status_code=202, summary="Queue a backtest; returns its id")
    async def create(body: BacktestRequest, p: Who) -> dict[str, Any]:
        return await svc.create_backtest(p, body)

    @r.get("/backtests", summary="Recent backtests")
    async def listing(p: Who, limit: Annotated[int, Query(ge=1, le=500)] = 50
                      ) -> dict[str, Any]:
        return {"items": await svc.list_backtests(limit, p.subject)}  # only the caller's

    @r.get("/backtests/{backtest_id}", summary="A backtest: status, metrics, trades, equity")
    async def one(
        backtest_id: Annotated[str, Path(max_length=40)], p: Who,
        points: Annotated[int | None, Query(ge=10, le=1_000_000,
                                            description="equity points returned")] = None,
        fills: Annotated[bool, Query(description="include every fill")] = False,
    ) -> dict[str, Any]:
        return await svc.get_backtest(backtest_id, points, fills, p.subject)

    return r
