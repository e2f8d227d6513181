"""Live paper trading: the Binance connector, fed by the replay server over real recorded
BTCUSDT data, drives a `PaperVenue` on the wall clock; orders go in through the async
`ExecutionVenue` API and their outcome comes back on `reports()`."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

import pytest

from argosy.kernel.clock import LiveClock
from argosy.kernel.messages import BookDelta, Message, Side, TradeTick
from argosy.kernel.money import Quantity
from argosy.kernel.orders import ExecutionReport, OrderRequest, OrderStatus, OrderType
from argosy.venues.binance.feed import BinanceMarketFeed
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.rest import BinanceRestClient
from argosy.venues.binance.ws import StreamSettings
from argosy.venues.paper import FeeSchedule, PaperSettings, PaperVenue
from tests.integration.venues.conftest import SPOT_WS, MakeReplay
from tests.integration.venues.test_paper_recorded import SPOT

pytestmark = pytest.mark.integration
D = Decimal


async def test_paper_venue_trades_on_the_live_feed(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=12, speed=1.0)  # real time: 12 s
    venue = PaperVenue("paper:acc1", [SPOT], LiveClock(), PaperSettings(
        fees={str(SPOT.id): FeeSchedule(D("1"), D("4"))},
        starting_balances={"USDT": D(100_000), "BTC": D(0)}))

    def dispatch(message: Message) -> None:
        if isinstance(message, BookDelta):
            venue.on_book_delta(message)
        elif isinstance(message, TradeTick):
            venue.on_trade(message)

    reports: list[ExecutionReport] = []

    async def consume() -> None:
        async for report in venue.reports():
            reports.append(report)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0)
    client = BinanceRestClient(BinanceMarket.SPOT, base_url=server.rest_url)
    feed = BinanceMarketFeed(BinanceMarket.SPOT, dispatch, rest=client,
                             ws_url=server.ws_url(BinanceMarket.SPOT),
                             stream_settings=StreamSettings(backoff_initial_s=0.05,
                                                            backoff_max_s=0.5))
    try:
        await feed.load_instruments(["BTCUSDT"])
        await feed.subscribe("BTCUSDT")
        async with asyncio.timeout(30):
            while venue.best_prices(SPOT.id)[1] is None:
                await asyncio.sleep(0.01)
        bought = await venue.submit(OrderRequest("mkt", SPOT.id, Side.BUY, OrderType.MARKET,
                                                 Quantity("0.2")))
        assert bought.status is OrderStatus.FILLED
        assert bought.filled_quantity == Quantity("0.2")
        best_bid, _ = venue.best_prices(SPOT.id)
        assert best_bid is not None
        resting = await venue.submit(OrderRequest("bid", SPOT.id, Side.BUY, OrderType.LIMIT,
                                                  Quantity("0.1"), best_bid))
        assert resting.status is OrderStatus.ACCEPTED
        await asyncio.wait_for(server.wait_finished(), 60)
        await asyncio.sleep(0.3)
    finally:
        await feed.close()
        await client.aclose()
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
    assert [r.client_order_id for r in reports][:2] == ["mkt", "bid"]
    assert reports[0].fills == bought.fills
    fills = [f for r in reports for f in r.fills]
    assert len({f.fill_id for f in fills}) == len(fills)
    assert fills == await venue.fills_since(SPOT.id, 0)
    base = sum(f.quantity.value for f in fills)
    quote = sum(f.price.value * f.quantity.value + f.fee.value for f in fills)
    balances = await venue.balances()
    assert balances["BTC"] == Quantity(base)
    assert balances["USDT"] == Quantity(D(100_000) - quote)
    open_orders = await venue.open_orders()
    query = await venue.query(SPOT.id, "bid")
    assert query is not None
    assert (query.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)) == bool(
        open_orders)
