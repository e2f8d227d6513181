"""BinanceExecution on spot against the replay server's trading side (recorded BTCUSDT book)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from argosy.kernel.errors import VenueRejected
from argosy.kernel.messages import Side
from argosy.kernel.orders import Liquidity, OrderStatus, OrderType, TimeInForce
from argosy.venues.binance.markets import BinanceMarket
from tests.integration.venues.conftest import SPOT_WS, MakeReplay
from tests.integration.venues.test_binance_execution_support import (
    SPOT_BTC,
    MakeVenue,
    best,
    book_ready,
    make_venue,
    next_report,
    open_account,
    order,
)

pytestmark = pytest.mark.integration
__all__ = ["make_venue"]  # the fixture, imported so pytest sees it here
SPOT = BinanceMarket.SPOT


async def test_market_buy_takes_the_replayed_book_and_moves_balances(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([SPOT_WS], seconds=20, speed=None, start="now")
    open_account(server)
    await server.wait_finished()
    venue = await make_venue(server, SPOT)
    book = server.trading._book(SPOT, "BTCUSDT")
    assert book is not None
    asks = book.asks.top(10)
    want = asks[0][1] + asks[1][1] / 2  # the whole best level and half of the next
    before = await venue.balances()

    report = await venue.submit(order("mkt-1", SPOT_BTC, Side.BUY, OrderType.MARKET, str(want)))

    assert report.status is OrderStatus.FILLED
    assert report.client_order_id == "mkt-1"
    assert report.venue_order_id
    assert [(f.price.value, f.quantity.value) for f in report.fills] == [
        (asks[0][0], asks[0][1]), (asks[1][0], asks[1][1] / 2)]
    assert all(f.liquidity is Liquidity.TAKER and f.fee_asset == "BTC" for f in report.fills)
    cost = sum(f.price.value * f.quantity.value for f in report.fills)
    fee = sum(f.fee.value for f in report.fills)
    assert report.average_price is not None
    assert report.average_price.value == cost / want
    after = await venue.balances()
    assert after["USDT"].value == before["USDT"].value - cost
    assert after["BTC"].value == before["BTC"].value + want - fee
    fills = await venue.fills_since(SPOT_BTC, 0)
    assert [(f.fill_id, f.client_order_id) for f in fills] == [
        (f.fill_id, "mkt-1") for f in report.fills]
    stream = await next_report(venue, lambda r: r.status is OrderStatus.FILLED)
    assert stream.client_order_id == "mkt-1"
    assert stream.filled_quantity.value == want


async def test_resting_limit_is_filled_by_replayed_trades_and_streamed(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([SPOT_WS], seconds=120, speed=10.0, start="now")
    open_account(server)
    await book_ready(server, SPOT)
    venue = await make_venue(server, SPOT)
    bid, _ = best(server, SPOT)

    placed = await venue.submit(order("rest-1", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.01",
                                      bid))
    assert placed.status is OrderStatus.ACCEPTED
    assert not placed.fills
    assert [r.client_order_id for r in await venue.open_orders(SPOT_BTC)] in (
        [["rest-1"], []])  # [] once the tape has already filled it

    filled = await next_report(venue, lambda r: r.status is OrderStatus.FILLED, within_s=30)
    assert filled.client_order_id == "rest-1"
    assert filled.fills[0].liquidity is Liquidity.MAKER
    assert filled.fills[0].price.value == bid  # a resting order fills at its own price
    assert (await venue.query(SPOT_BTC, "rest-1")).status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert await venue.open_orders(SPOT_BTC) == []
    fills = await venue.fills_since(SPOT_BTC, 0)
    assert sum(f.quantity.value for f in fills) == Decimal("0.01")
    account = await venue.client.call("GET", "/api/v3/account", [])
    usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
    assert Decimal(usdt["locked"]) == 0  # the lock of price x quantity fully spent
    assert Decimal(usdt["free"]) == 10_000_000 - bid * Decimal("0.01")


async def test_cancel_query_and_the_refusals_keep_binance_codes(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([SPOT_WS], seconds=20, speed=None, start="now")
    open_account(server)
    await server.wait_finished()
    venue = await make_venue(server, SPOT)
    bid, ask = best(server, SPOT)
    low = bid - 500

    await venue.submit(order("c-1", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.01", low))
    cancelled = await venue.cancel(SPOT_BTC, "c-1")
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.client_order_id == "c-1"
    queried = await venue.query(SPOT_BTC, "c-1")
    assert queried is not None
    assert queried.status is OrderStatus.CANCELLED
    assert await venue.query(SPOT_BTC, "never-sent") is None

    async def code_of(coro: object) -> str | None:
        with pytest.raises(VenueRejected) as caught:
            await coro  # type: ignore[misc]
        return caught.value.venue_code

    assert await code_of(venue.cancel(SPOT_BTC, "c-1")) == "-2011"
    assert await code_of(venue.submit(order("c-2", SPOT_BTC, Side.BUY, OrderType.LIMIT,
                                            "1000", low))) == "-2010"  # balance
    assert await code_of(venue.submit(order("c-3", SPOT_BTC, Side.BUY, OrderType.LIMIT,
                                            "0.01", low + Decimal("0.005")))) == "-1013"
    assert await code_of(venue.submit(order("c-4", SPOT_BTC, Side.BUY, OrderType.LIMIT,
                                            "0.000000001", low))) == "-1111"
    assert await code_of(venue.submit(order("c-5", SPOT_BTC, Side.BUY, OrderType.POST_ONLY,
                                            "0.01", ask))) == "-2010"  # would take
    await venue.submit(order("dup", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.01", low))
    assert await code_of(venue.submit(order("dup", SPOT_BTC, Side.BUY, OrderType.LIMIT,
                                            "0.01", low))) == "-2010"  # duplicate
    assert await code_of(venue.submit(order("gtd", SPOT_BTC, Side.BUY, OrderType.LIMIT,
                                            "0.01", low, tif=TimeInForce.GTD,
                                            expire_at_ns=1))) == "unsupported"
    ioc = await venue.submit(order("ioc", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.01", low,
                                   tif=TimeInForce.IOC))
    assert ioc.status is OrderStatus.EXPIRED


async def test_wrong_secret_and_unknown_key_are_refused(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([SPOT_WS], seconds=5, speed=None, start="now")
    open_account(server)
    bad_secret = await make_venue(server, SPOT, secret="x" * 64, stream=False)
    with pytest.raises(VenueRejected) as caught:
        await bad_secret.balances()
    assert caught.value.venue_code == "-1022"
    unknown = await make_venue(server, SPOT, key="y" * 64, stream=False)
    with pytest.raises(VenueRejected) as caught:
        await unknown.balances()
    assert caught.value.venue_code == "-2015"
    assert server.trading.stats["-1022"] == 1
    assert server.trading.stats["-2015"] == 1


async def test_spot_stream_is_a_signed_websocket_api_subscription(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([SPOT_WS], seconds=20, speed=None, start="now")
    open_account(server)
    await server.wait_finished()
    venue = await make_venue(server, SPOT)
    assert venue.stream.listen_key is None
    assert server.trading.stats["ws-api subscribe"] == 1
    assert server.trading.listen_keys.keys == {}  # no listenKey was made
    await venue.submit(order("w-1", SPOT_BTC, Side.SELL, OrderType.MARKET, "0.002"))
    filled = await next_report(venue, lambda r: r.status is OrderStatus.FILLED)
    assert filled.client_order_id == "w-1"
    assert filled.fills[0].fee_asset == "USDT"
    assert venue.account_updates  # outboundAccountPosition reached the account hook
    bad = await make_venue(server, SPOT, secret="x" * 64, stream=False)
    with pytest.raises(VenueRejected) as caught:
        await bad.stream._ws_api_session(bad.stream.ws_api_url or "")
    assert caught.value.venue_code == "-1022"


async def test_user_stream_survives_an_expired_listen_key(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([SPOT_WS], seconds=20, speed=None, start="now")
    open_account(server)
    await server.wait_finished()
    venue = await make_venue(server, SPOT, spot_stream="listen_key")  # Binance before 2026-02
    venue.stream._backoff = (0.05, 0.2)
    first_key = venue.stream.listen_key
    bid, _ = best(server, SPOT)
    await venue.submit(order("live-1", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.01", bid - 300))
    await next_report(venue, lambda r: r.client_order_id == "live-1")

    assert server.trading.control("expire-listen-keys", {}) == 1
    # after reconnecting with a new key, the live order's state is reported again
    again = await next_report(venue, lambda r: r.client_order_id == "live-1")
    assert again.status is OrderStatus.ACCEPTED
    assert venue.stream.listen_key not in (None, first_key)
    assert venue.stream.sessions == 2
    await venue.cancel(SPOT_BTC, "live-1")
    cancelled = await next_report(venue, lambda r: r.status is OrderStatus.CANCELLED)
    assert cancelled.client_order_id == "live-1"


async def test_listen_key_is_kept_alive_and_closed(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([SPOT_WS], seconds=5, speed=None, start="now")
    open_account(server)
    venue = await make_venue(server, SPOT, spot_stream="listen_key")
    venue.stream.keepalive_s = 0.1
    venue.stream._keepalive.cancel()  # type: ignore[union-attr]  # restart at the new pace
    venue.stream._keepalive = asyncio.create_task(venue.stream._keep_alive())
    await asyncio.sleep(0.5)
    assert venue.stream.keepalives >= 2
    assert server.trading.stats["PUT userDataStream 200"] >= 2
    await venue.stream.close()
    assert server.trading.listen_keys.keys == {}
