"""CcxtExecution's pushed reports: ccxt.pro's binance `watch_orders` on the replay server.

ccxt.pro subscribes to spot user data over the WebSocket API
(`userDataStream.subscribe.signature`), which the replay server implements; so the stream
path of the generic adapter is exercised with ccxt's own client, not a stand-in.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import ccxt.pro as ccxt_pro  # type: ignore[import-untyped]  # untyped
import pytest

from argosy.kernel.messages import Side
from argosy.kernel.orders import OrderStatus, OrderType
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.ccxt_execution import CcxtExecution
from tests.integration.venues.conftest import SPOT_WS, MakeReplay
from tests.integration.venues.test_binance_execution_support import (
    API_KEY,
    API_SECRET,
    SPOT_BTC,
    best,
    open_account,
    order,
)

pytestmark = pytest.mark.integration


async def test_watch_orders_pushes_accept_fill_and_cancel(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=20, speed=None, start="now")
    open_account(server)
    await server.wait_finished()
    rest = f"{server.rest_url}/api/v3"
    exchange = ccxt_pro.binance({
        "apiKey": API_KEY, "secret": API_SECRET,
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                    "fetchMargins": False},
        "urls": {"api": {"public": rest, "private": rest,
                         "ws": {"spot": f"ws://127.0.0.1:{server.port}/ws",
                                "ws-api": {"spot": f"ws://127.0.0.1:{server.port}/ws-api/v3"}}}},
    })
    venue = await CcxtExecution(exchange).start()
    assert venue.exchange.has["watchOrders"]  # so reports() takes the pushed path
    try:
        stream = venue.reports()
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.5)  # the subscription is in place before anything happens
        bid, _ = best(server, BinanceMarket.SPOT)
        await venue.submit(order("w-1", SPOT_BTC, Side.BUY, OrderType.LIMIT, "0.001",
                                 bid - 100))
        accepted = await asyncio.wait_for(first, 10)
        assert (accepted.client_order_id, accepted.status) == ("w-1", OrderStatus.ACCEPTED)
        await venue.cancel(SPOT_BTC, "w-1")
        cancelled = await asyncio.wait_for(anext(stream), 10)
        assert (cancelled.client_order_id, cancelled.status) == ("w-1", OrderStatus.CANCELLED)
        await venue.submit(order("w-2", SPOT_BTC, Side.SELL, OrderType.MARKET, "0.002"))
        filled = await asyncio.wait_for(anext(stream), 10)
        while filled.status is not OrderStatus.FILLED:  # partial fills may come first
            filled = await asyncio.wait_for(anext(stream), 10)
        assert filled.client_order_id == "w-2"
        assert filled.filled_quantity.value == Decimal("0.002")
        await stream.aclose()
    finally:
        await venue.aclose()
