"""Public REST API of the trading service (/api/v1): orders, fills, positions, balances.

Identity comes from the gateway's `x-argosy-identity` header; every read and write is
limited to the caller's own accounts inside their organisation (another tenant's order
reads as 404). No `from __future__ import annotations`: FastAPI reads these types.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from argosy.contracts.v1.trading import (
    AmendIn,
    BalanceOut,
    CancelAllIn,
    CancelAllOut,
    FillOut,
    LeverageIn,
    LeverageOut,
    OrderIn,
    OrderOut,
    PositionOut,
)
from argosy.platform.auth.internal import Principal
from argosy.services.trading.service._context import Caller
from argosy.services.trading.service.margin import LeverageService
from argosy.services.trading.service.orders import OrdersService
from argosy.services.trading.service.queries import QueriesService

__all__ = ["router"]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    403: {"description": "The identity lacks orders:read/write or accounts:read"},
    404: {"description": "No such order or account of yours"},
    409: {"description": "client_order_id already used with different parameters"},
    422: {"description": "Invalid order; `error.field` names the field and `error.code` the "
                         "reason (off_tick, off_lot, below_min_notional, unknown_instrument, "
                         "insufficient_balance, reduce_only_increases, pre_trade_rejected)"},
    503: {"description": "Reconciliation with the venue has not succeeded yet (new orders "
                         "are refused, cancels allowed), or a dependency is down"},
}

Id = Annotated[str, Path(max_length=40)]
Account = Annotated[str | None, Query(max_length=40, description="Default: all your accounts")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def router(identity: Callable[[Request], Awaitable[Principal]], orders: OrdersService,
           queries: QueriesService, leverage: LeverageService) -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["trading"], responses=ERRORS)

    async def caller(request: Request) -> Caller:
        return Caller.of(await identity(request))

    Who = Annotated[Caller, Depends(caller)]  # noqa: N806

    @r.post("/orders", status_code=201, summary="Place an order",
            description="Stored before it is sent; the answer shows the status reached "
            "(`accepted`, `filled`, `rejected`, or `submitted_unknown` while the venue's "
            "answer is unknown). Repeating a `client_order_id` with the same parameters "
            "returns the same order (200), with other parameters 409.")
    async def place(body: OrderIn, c: Who, response: Response) -> OrderOut:
        out, created = await orders.place(c, body)
        if not created:
            response.status_code = 200
        return out

    @r.get("/orders", summary="My orders, newest first")
    async def list_orders(
        c: Who, account_id: Account = None, limit: Limit = 100,
        status: Annotated[str | None, Query(description="Comma-separated statuses, or "
                                            "`open`")] = None,
    ) -> dict[str, list[OrderOut]]:
        return {"items": await queries.orders(c, status, account_id, limit)}

    @r.get("/orders/{order_id}", summary="One order with its stored transitions")
    async def get_order(order_id: Id, c: Who) -> OrderOut:
        return await queries.order(c, order_id)

    @r.delete("/orders/{order_id}", summary="Cancel an order",
              description="Allowed even while reconciliation is pending. The answer is the "
              "order after the venue's reply (it may have filled first).")
    async def cancel(order_id: Id, c: Who) -> OrderOut:
        return await orders.cancel(c, order_id)

    @r.patch("/orders/{order_id}", summary="Amend (cancel-replace) an open order",
             description="Cancels the order and places its replacement with the new price "
             "and/or quantity; returns the replacement.")
    async def amend(order_id: Id, body: AmendIn, c: Who) -> OrderOut:
        return await orders.amend(c, order_id, body)

    @r.post("/orders/cancel-all", summary="Cancel all my open orders",
            description="Optionally only one account and/or instrument.")
    async def cancel_all(c: Who, body: CancelAllIn | None = None) -> CancelAllOut:
        return await orders.cancel_all(c, body or CancelAllIn())

    @r.get("/fills", summary="My fills, newest first")
    async def fills(c: Who, account_id: Account = None,
                    order_id: Annotated[str | None, Query(max_length=40)] = None,
                    limit: Limit = 100) -> dict[str, list[FillOut]]:
        return {"items": await queries.fills(c, account_id, order_id, limit)}

    @r.get("/positions", summary="My positions, marked to market")
    async def positions(c: Who, account_id: Account = None) -> dict[str, list[PositionOut]]:
        return {"items": await queries.positions(c, account_id)}

    @r.put("/positions/{instrument}/leverage", summary="Set a perpetual's leverage",
           description="Per account and USD-M perpetual, 1 to 125 (422 naming `leverage` "
           "otherwise, `instrument` for spot). Initial margin = notional / leverage; "
           "refused with 409 `position_open` while the position is open.")
    async def set_leverage(instrument: Annotated[str, Path(max_length=64)], body: LeverageIn,
                           c: Who) -> LeverageOut:
        return await leverage.set(c, instrument, body)

    @r.get("/balances", summary="My balances per account and asset")
    async def balances(c: Who, account_id: Account = None) -> dict[str, list[BalanceOut]]:
        return {"items": await queries.balances(c, account_id)}

    return r
