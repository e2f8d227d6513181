"""BinanceExecution on USD-M perpetuals against the replay server (recorded BTCUSDT book)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from argosy.kernel.errors import VenueRejected
from argosy.kernel.messages import Side
from argosy.kernel.orders import ExecutionReport, OrderStatus, OrderType, TimeInForce
from argosy.venues.binance.markets import BinanceMarket
from tests.integration.venues.conftest import USDM_WS, MakeReplay
from tests.integration.venues.test_binance_execution_support import (
    PERP_BTC,
    MakeVenue,
    best,
    book_ready,
    make_venue,
    next_report,
    open_account,
    order,
)

pytestmark = pytest.mark.integration
__all__ = ["make_venue"]
USDM = BinanceMarket.USDM


async def test_open_and_close_a_position_ties_out(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([USDM_WS], seconds=20, speed=None, start="now")
    open_account(server)
    await server.wait_finished()
    venue = await make_venue(server, USDM)
    _, ask = best(server, USDM)

    opened = await venue.submit(order("p-1", PERP_BTC, Side.BUY, OrderType.MARKET, "0.5"))
    assert opened.status is OrderStatus.FILLED
    assert opened.filled_quantity.value == Decimal("0.5")
    assert opened.average_price is not None
    assert opened.average_price.value >= ask
    streamed = await next_report(venue, lambda r: r.status is OrderStatus.FILLED)
    assert streamed.client_order_id == "p-1"
    assert streamed.fills
    [position] = await venue.positions()
    assert position.instrument_id == PERP_BTC
    assert position.side is Side.BUY
    assert position.quantity.value == Decimal("0.5")
    assert position.entry_price == opened.average_price
    assert position.leverage == 20

    with pytest.raises(VenueRejected) as caught:  # reduce-only may not add to the long
        await venue.submit(order("p-2", PERP_BTC, Side.BUY, OrderType.MARKET, "0.1",
                                 reduce_only=True))
    assert caught.value.venue_code == "-2022"
    closed = await venue.submit(order("p-3", PERP_BTC, Side.SELL, OrderType.MARKET, "0.5",
                                      reduce_only=True))
    assert closed.status is OrderStatus.FILLED
    assert await venue.positions() == []

    hour_ago_ns = (server.trading.now_ms() - 3_600_000) * 1_000_000
    fills = await venue.fills_since(PERP_BTC, hour_ago_ns)  # by time window
    assert fills == await venue.fills_since(PERP_BTC, 0)  # by trade id, from the start
    assert {f.client_order_id for f in fills} == {"p-1", "p-3"}
    assert await venue.fills_since(PERP_BTC, (server.trading.now_ms() + 1000) * 10**6) == []
    buys = sum(f.price.value * f.quantity.value for f in fills if f.side is Side.BUY)
    sells = sum(f.price.value * f.quantity.value for f in fills if f.side is Side.SELL)
    fees = sum(f.fee.value for f in fills)
    balances = await venue.balances()
    assert balances["USDT"].value == Decimal(50000) + sells - buys - fees  # to the last digit


async def test_refusals_and_order_kinds(make_replay: MakeReplay, make_venue: MakeVenue) -> None:
    server = await make_replay([USDM_WS], seconds=20, speed=None, start="now")
    open_account(server)
    await server.wait_finished()
    venue = await make_venue(server, USDM, stream=False)
    bid, ask = best(server, USDM)

    async def code_of(request: object) -> str | None:
        with pytest.raises(VenueRejected) as caught:
            await venue.submit(request)  # type: ignore[arg-type]
        return caught.value.venue_code

    assert await code_of(order("r-1", PERP_BTC, Side.BUY, OrderType.POST_ONLY, "0.01",
                               ask)) == "-5022"
    assert await code_of(order("r-2", PERP_BTC, Side.BUY, OrderType.LIMIT, "100", bid - 1000
                               )) == "-2019"  # margin: 100 BTC on 50 000 USDT
    assert await code_of(order("r-3", PERP_BTC, Side.SELL, OrderType.STOP_MARKET, "0.01",
                               stop=bid + 1000)) == "-2021"  # would trigger at once
    assert await code_of(order("r-4", PERP_BTC, Side.BUY, OrderType.LIMIT, "0.0001",
                               bid - 1000)) == "-1013"  # lot size 0.001

    resting = [
        order("k-1", PERP_BTC, Side.BUY, OrderType.POST_ONLY, "0.01", bid - 50),
        order("k-2", PERP_BTC, Side.SELL, OrderType.STOP_MARKET, "0.01", stop=bid - 200),
        order("k-3", PERP_BTC, Side.SELL, OrderType.STOP_LIMIT, "0.01", bid - 210,
              stop=bid - 200),
        order("k-4", PERP_BTC, Side.SELL, OrderType.TAKE_PROFIT, "0.01", stop=ask + 200),
        order("k-5", PERP_BTC, Side.SELL, OrderType.TRAILING_STOP, "0.01", trailing_bps=50),
        order("k-6", PERP_BTC, Side.BUY, OrderType.LIMIT, "0.01", bid - 60,
              tif=TimeInForce.GTD, expire_at_ns=(server.trading.now_ms() + 3_600_000) * 10**6),
    ]
    for request in resting:
        report = await venue.submit(request)
        assert report.status is OrderStatus.ACCEPTED, request.client_order_id
    kinds = {o.client_id: (o.type, o.tif) for o in server.trading.orders.values()}
    assert kinds["k-1"] == ("LIMIT", "GTX")
    assert kinds["k-3"] == ("STOP", "GTC")
    assert kinds["k-4"][0] == "TAKE_PROFIT_MARKET"
    assert kinds["k-5"][0] == "TRAILING_STOP_MARKET"
    assert kinds["k-6"] == ("LIMIT", "GTD")
    assert len(await venue.open_orders()) == 6


async def test_stop_and_trailing_stop_trigger_on_replayed_trades(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([USDM_WS], seconds=300, speed=20.0, start="now")
    open_account(server)
    await book_ready(server, USDM)
    venue = await make_venue(server, USDM)
    await venue.submit(order("s-0", PERP_BTC, Side.BUY, OrderType.MARKET, "0.02"))
    bid, _ = best(server, USDM)
    await venue.submit(order("s-1", PERP_BTC, Side.SELL, OrderType.STOP_MARKET, "0.01",
                             stop=bid - 20, reduce_only=True))
    await venue.submit(order("s-2", PERP_BTC, Side.SELL, OrderType.TRAILING_STOP, "0.01",
                             trailing_bps=10, reduce_only=True))  # 0.1 % off the best price
    filled: dict[str, ExecutionReport] = {}

    async def collect() -> None:
        async for report in venue.reports():
            if report.status is OrderStatus.FILLED:
                filled[report.client_order_id] = report
            if {"s-1", "s-2"} <= filled.keys():
                return

    await asyncio.wait_for(collect(), 40)
    # each sold into the book's bids of the moment its trigger trade printed
    stop, trailing = filled["s-1"].average_price, filled["s-2"].average_price
    assert stop is not None
    assert stop.value < bid
    peak = next(o for o in server.trading.orders.values() if o.client_id == "s-2").extreme
    assert trailing is not None
    assert trailing.value < peak * Decimal("0.9995")
    assert await venue.positions() == []
