"""A second, independent Binance client (ccxt) trades on the replay server's trading side.

ccxt signs POST parameters in the body rather than the query string and sends its own
recvWindow; that the fake accepts it, fills it and answers in shapes ccxt parses is a
check of the fake's protocol that does not rest on our own adapter's reading of the docs.
"""

from __future__ import annotations

from decimal import Decimal

import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]  # untyped
import pytest

from tests.integration.venues.conftest import SPOT_WS, MakeReplay
from tests.integration.venues.test_binance_execution_support import (
    API_KEY,
    API_SECRET,
    open_account,
)

pytestmark = pytest.mark.integration


async def test_ccxt_places_queries_cancels_and_fills(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS], seconds=20, speed=None, start="now")
    open_account(server)
    await server.wait_finished()
    exchange = ccxt_async.binance({
        "apiKey": API_KEY, "secret": API_SECRET,
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                    "fetchMargins": False},
        "urls": {"api": {"public": f"{server.rest_url}/api/v3",
                         "private": f"{server.rest_url}/api/v3"}},
    })
    try:
        await exchange.load_markets()
        placed = await exchange.create_order("BTC/USDT", "limit", "buy", 0.001, 60000)
        assert placed["status"] == "open"
        fetched = await exchange.fetch_order(placed["id"], "BTC/USDT")
        assert fetched["clientOrderId"] == placed["clientOrderId"]
        balance = await exchange.fetch_balance()
        assert balance["USDT"]["used"] == 60.0
        assert (await exchange.cancel_order(placed["id"], "BTC/USDT"))["status"] == "canceled"
        sold = await exchange.create_order("BTC/USDT", "market", "sell", 0.01)
        assert sold["status"] == "closed"
        assert Decimal(str(sold["filled"])) == Decimal("0.01")
        trades = await exchange.fetch_my_trades("BTC/USDT")
        assert [t["order"] for t in trades] == [sold["id"]]
    finally:
        await exchange.close()
    assert server.trading.stats["-1022"] == 0
    assert server.trading.stats["POST order 200"] == 2
