"""BinanceExecution under the replay server's faults: clocks, limits, unknown outcomes."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from argosy.kernel.errors import VenueReconcile, VenueRetry
from argosy.kernel.messages import Side
from argosy.kernel.orders import OrderStatus, OrderType
from argosy.venues.binance._signed import SignedSettings
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.weights import OrderLimit
from argosy.venues.replay._trading import TradingSettings
from argosy.venues.replay.faults import TradingFault
from tests.integration.venues.conftest import SPOT_WS, MakeReplay
from tests.integration.venues.test_binance_execution_support import (
    SPOT_BTC,
    MakeVenue,
    SkewedClock,
    best,
    make_venue,
    open_account,
    order,
)

pytestmark = pytest.mark.integration
__all__ = ["make_venue"]
SPOT = BinanceMarket.SPOT
ORDER_PATH = "/api/v3/order"


async def _ready(make_replay: MakeReplay, **trading: object):  # type: ignore[no-untyped-def]
    server = await make_replay([SPOT_WS], seconds=20, speed=None, start="now")
    open_account(server, TradingSettings(clock="wall", **trading))  # type: ignore[arg-type]
    await server.wait_finished()
    return server


@pytest.mark.parametrize("skew_s", [-10.0, 10.0])
async def test_local_clock_skew_never_reaches_minus_1021(
    make_replay: MakeReplay, make_venue: MakeVenue, skew_s: float
) -> None:
    server = await _ready(make_replay)
    venue = await make_venue(server, SPOT, clock=SkewedClock(skew_s), stream=False)
    assert abs(venue.clock.offset_ms + skew_s * 1000) < 200  # measured, not assumed
    bid, _ = best(server, SPOT)
    for i in range(5):
        await venue.submit(order(f"skew-{i}", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.001",
                                 bid - 100))
    assert len(await venue.open_orders(SPOT_BTC)) == 5
    assert server.trading.stats["-1021"] == 0


async def test_server_clock_jump_is_absorbed_by_one_resync(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await _ready(make_replay)
    venue = await make_venue(server, SPOT, stream=False)
    syncs = venue.client.time_syncs
    async with httpx.AsyncClient() as http:  # the exchange's clock jumps 10 s ahead
        answer = await http.post(f"{server.rest_url}/_replay/trading-skew?ms=10000")
    assert answer.json() == {"fault": "trading-skew", "result": 10_000}
    await venue.balances()  # refused once with -1021, re-synced, sent again
    assert server.trading.stats["-1021"] == 1
    assert venue.client.time_syncs == syncs + 1
    await venue.balances()
    assert server.trading.stats["-1021"] == 1  # the new offset holds


@pytest.mark.parametrize(("status", "code"), [(503, None), (500, -1006), (408, -1007)])
async def test_unknown_outcomes_reconcile_and_the_order_is_found(
    make_replay: MakeReplay, make_venue: MakeVenue, status: int, code: int | None
) -> None:
    server = await _ready(make_replay)
    venue = await make_venue(server, SPOT, stream=False)
    bid, _ = best(server, SPOT)
    server.trading.faults.add(TradingFault(status=status, code=code, path=ORDER_PATH,
                                           method="POST"))
    with pytest.raises(VenueReconcile) as caught:
        await venue.submit(order("u-1", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.001",
                                 bid - 100))
    assert caught.value.venue_code == str(code if code is not None else status)
    found = await venue.query(SPOT_BTC, "u-1")
    assert found is not None
    assert found.status is OrderStatus.ACCEPTED


async def test_5xx_on_a_read_is_retried_not_reconciled(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await _ready(make_replay)
    venue = await make_venue(server, SPOT, stream=False)
    server.trading.faults.add(TradingFault(status=503, path="/api/v3/account"))
    balances = await venue.balances()  # one 503, then the retry answers
    assert balances["BTC"].value == 1
    assert server.trading.stats["GET account 503"] == 1


async def test_timeout_then_not_found_for_a_while_then_found(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await _ready(make_replay)
    venue = await make_venue(server, SPOT, stream=False, signed=SignedSettings(timeout_s=0.3))
    server.trading.faults.add(TradingFault(delay_s=1.0, path=ORDER_PATH, method="POST"))
    server.trading.faults.hide_new_orders_s = 1.5
    with pytest.raises(VenueReconcile):
        await venue.submit(order("t-1", SPOT_BTC, Side.BUY, OrderType.MARKET, "0.001"))
    assert await venue.query(SPOT_BTC, "t-1") is None  # "does not exist": not proof
    await asyncio.sleep(1.6)
    found = await venue.query(SPOT_BTC, "t-1")
    assert found is not None
    assert found.status is OrderStatus.FILLED


async def test_unprocessed_failure_leaves_no_order(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await _ready(make_replay)
    venue = await make_venue(server, SPOT, stream=False)
    server.trading.faults.add(TradingFault(status=503, processed=False, path=ORDER_PATH))
    with pytest.raises(VenueReconcile):
        await venue.submit(order("n-1", SPOT_BTC, Side.BUY, OrderType.MARKET, "0.001"))
    assert await venue.query(SPOT_BTC, "n-1") is None


@pytest.mark.parametrize("status", [429, 418])
async def test_429_and_418_are_honoured(
    make_replay: MakeReplay, make_venue: MakeVenue, status: int
) -> None:
    server = await _ready(make_replay)
    venue = await make_venue(server, SPOT, stream=False)
    server.reject_next(status, 1, retry_after_s=1)
    with pytest.raises(VenueRetry) as caught:
        await venue.balances()
    assert caught.value.details["retry_after"] == 1.0
    sent = venue.client.sent
    with pytest.raises(VenueRetry):  # still inside Retry-After: not even sent
        await venue.balances()
    assert venue.client.sent == sent
    await asyncio.sleep(1.05)
    assert (await venue.balances())["BTC"].value == 1


async def test_order_burst_stays_under_the_order_count_limit(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    limits = (OrderLimit("x-mbx-order-count-10s", 1.0, 10),)
    server = await _ready(make_replay, order_limits={SPOT: limits, BinanceMarket.USDM: limits})
    venue = await make_venue(server, SPOT, stream=False,
                             signed=SignedSettings(order_limits=limits))
    bid, _ = best(server, SPOT)
    started = time.monotonic()
    reports = await asyncio.gather(*(
        venue.submit(order(f"b-{i}", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.001", bid - 100))
        for i in range(25)))
    elapsed = time.monotonic() - started
    assert all(r.status is OrderStatus.ACCEPTED for r in reports)
    assert server.trading.stats["-1015"] == 0
    assert elapsed >= 1.0  # 9 per 1 s window (90 % headroom): three windows


async def test_weight_burst_stays_under_the_weight_limit(
    make_replay: MakeReplay, make_venue: MakeVenue
) -> None:
    server = await make_replay([SPOT_WS], seconds=20, speed=None, start="now", weight_limit=40,
                               weight_window_s=1.0)
    open_account(server)
    await server.wait_finished()
    venue = await make_venue(server, SPOT, stream=False,
                             signed=SignedSettings(weight_limit=40, weight_window_s=1.0))
    await asyncio.gather(*(venue.open_orders(SPOT_BTC) for _ in range(15)))  # 15 x 6
    statuses = [status for _, status in server.rest_log]
    assert 429 not in statuses
    assert 418 not in statuses
    assert server.trading.stats["GET openOrders 200"] == 15
