"""REST API of the market-data service under /api/v1/market: parse, call, map.

Reads need `market:read`, changes `market:admin`, from the `x-argosy-identity` the gateway
sends. Public reads are off by default: market data is licensed by the venues to the
platform's users, and every read goes through the gateway's authentication and rate
limits anyway; `ARGOSY_MARKET_DATA_PUBLIC_READS=true` serves GETs without an identity
(a public market-data deployment).

No `from __future__ import annotations` here: FastAPI must see the local `Who` type.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from argosy.platform.auth.internal import Principal
from argosy.services.market_data.schemas import (
    BackfillJob,
    BackfillRequest,
    Book,
    CandlePage,
    ContinuityReport,
    GapPage,
    InstrumentPage,
    JobPage,
    SubscriptionPage,
    SubscriptionRequest,
    TickerPage,
    TradePage,
)
from argosy.services.market_data.service import MarketDataService

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    403: {"description": "Identity lacks market:read (or market:admin)"},
    404: {"description": "Unknown instrument, job or subscription"},
    422: {"description": "Bad input; `error.field` names it (interval, start, end, limit, "
                         "cursor, depth...)"},
    503: {"description": "A dependency or the live book is not available right now"},
}

Instrument = Annotated[str, Query(description="Canonical id, e.g. `BTC-USDT.binance`.")]
Time = Annotated[str | None, Query(description="int ns UTC, ISO 8601 with zone, or "
                                               "YYYY-MM-DD")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]

Identity = Callable[[Request], Awaitable[Principal]]


def router(svc: MarketDataService, read: Identity, admin: Identity) -> APIRouter:
    r = APIRouter(prefix="/api/v1/market", tags=["market data"], responses=_ERRORS)
    Reader = Annotated[Principal, Depends(read)]  # noqa: N806  (a type alias)
    Admin = Annotated[Principal, Depends(admin)]  # noqa: N806

    @r.get("/instruments", summary="Instruments with their venue filters",
           response_model=InstrumentPage)
    async def instruments(
        _: Reader, venue: str | None = None, kind: str | None = None,
        q: Annotated[str | None, Query(description="Part of the id or symbol")] = None,
        subscribed: bool | None = None, cursor: Cursor = None, limit: int = 500,
    ) -> dict[str, Any]:
        return await svc.instruments(venue=venue, kind=kind, search=q, subscribed=subscribed,
                                     cursor=cursor, limit=limit)

    @r.get("/candles", summary="OHLCV bars, oldest first, paginated",
           description="Without `start`: the latest `limit` bars before `end` (or now), and "
                       "the bar still forming last (`final: false`). With `start`: bars from "
                       "there, and `next_cursor` while more remain. Intervals: 1s 1m 5m 15m "
                       "1h 4h 1d. `source=exchange` returns the venue's klines.",
           response_model=CandlePage)
    async def candles(
        _: Reader, instrument: Instrument,
        interval: Annotated[str, Query(description="1s 1m 5m 15m 1h 4h 1d")] = "1m",
        start: Time = None, end: Time = None, limit: int | None = None, cursor: Cursor = None,
        source: str = "trades",
    ) -> dict[str, Any]:
        return await svc.candles(instrument=instrument, interval=interval, start=start, end=end,
                                 limit=limit, cursor=cursor, source=source)

    @r.get("/trades", summary="Stored trades, oldest first, paginated",
           description="Without `start`: the latest `limit` trades.",
           response_model=TradePage)
    async def trades(
        _: Reader, instrument: Instrument, start: Time = None, end: Time = None,
        limit: int | None = None, cursor: Cursor = None,
        stream: Annotated[str, Query(description="trade | aggTrade")] = "trade",
    ) -> dict[str, Any]:
        return await svc.trades(instrument=instrument, start=start, end=end, limit=limit,
                                cursor=cursor, stream=stream)

    @r.get("/book", summary="The live L2 book", response_model=Book)
    async def book(_: Reader, instrument: Instrument, depth: int = 20) -> dict[str, Any]:
        return await svc.book(instrument, depth)

    @r.get("/ticker", summary="Latest quote and trade (one instrument, or all recorded)",
           response_model=TickerPage)
    async def ticker(_: Reader, instrument: str | None = None) -> dict[str, Any]:
        return await svc.ticker(instrument)

    @r.get("/continuity", summary="Per day: stored trades, missing ids, gaps and repairs",
           description="Without days: the latest day with data.",
           response_model=ContinuityReport)
    async def continuity(
        _: Reader, instrument: Instrument,
        start_day: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
        end_day: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    ) -> dict[str, Any]:
        return await svc.continuity(instrument=instrument, start_day=start_day,
                                    end_day=end_day)

    @r.get("/gaps", summary="Recorded gaps, newest first", response_model=GapPage)
    async def gaps(_: Reader, instrument: str | None = None, status: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        return await svc.gaps(instrument, status, limit)

    @r.get("/feeds", summary="Connectors: mode, URLs, counters, per-instrument state")
    async def feeds(_: Reader) -> dict[str, Any]:
        return svc.feeds.status()

    @r.get("/subscriptions", summary="What is recorded, and why",
           response_model=SubscriptionPage)
    async def subscriptions(_: Reader) -> dict[str, Any]:
        return await svc.subscriptions()

    @r.post("/subscriptions", status_code=201, summary="Record an instrument (admin)")
    async def subscribe(body: SubscriptionRequest, p: Admin) -> dict[str, Any]:
        return await svc.subscribe(p, body.instrument)

    @r.delete("/subscriptions/{instrument}", status_code=204,
              summary="Stop recording an instrument (admin)")
    async def unsubscribe(instrument: Annotated[str, Path()], p: Admin) -> Response:
        await svc.unsubscribe(p, instrument)
        return Response(status_code=204)

    @r.post("/backfill", status_code=202, summary="Start a backfill job (admin)",
            response_model=BackfillJob)
    async def backfill(body: BackfillRequest, p: Admin) -> dict[str, Any]:
        return await svc.start_backfill(p, body.model_dump())

    @r.get("/backfill", summary="Backfill jobs, newest first", response_model=JobPage)
    async def jobs(_: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 50
                   ) -> dict[str, Any]:
        return await svc.jobs(limit)

    @r.get("/backfill/{job_id}", summary="One backfill job", response_model=BackfillJob)
    async def job(job_id: str, _: Reader) -> dict[str, Any]:
        found = await svc.job(job_id)
        assert found is not None
        return found

    return r
