"""The ccxt path end to end, with ccxt's Binance classes pointed at the replay server:
ccxt.pro WebSocket streaming and plain REST polling, both normalized to kernel messages."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.messages import Bar, BookDelta, Interval, Message, Side, TradeTick
from argosy.venues.alarms import FeedAlarm
from argosy.venues.ccxt_venue import CcxtVenue
from argosy.venues.replay.server import ReplayServer
from tests.integration.venues.conftest import SPOT_TRADES, SPOT_WS, MakeReplay
from tests.integration.venues.test_binance_feed_replay import (
    checksum,
    eventually,
    recorded_trades,
)
from tests.support.binance_data import trade_rows

pytestmark = pytest.mark.integration


def _config(server: ReplayServer, types: list[str], **options: Any) -> dict[str, Any]:
    return {
        "options": {"fetchMarkets": {"types": types}, "fetchCurrencies": False, **options},
        "urls": {"api": {
            "public": f"{server.rest_url}/api/v3",
            "fapiPublic": f"{server.rest_url}/fapi/v1",
            "ws": {"spot": f"ws://127.0.0.1:{server.port}/ws"},
        }},
    }


async def test_ccxt_pro_streams_recorded_trades_and_book(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS, SPOT_TRADES], seconds=40, speed=10.0)
    out: list[Message] = []
    alarms: list[FeedAlarm] = []
    venue = CcxtVenue("binance", out.append, on_alarm=alarms.append,
                      config=_config(server, ["spot"]), retry_s=0.2)
    try:
        assert str((await venue.load_markets())["BTC/USDT"]) == "BTC-USDT.binance"
        await venue.subscribe("BTC/USDT", trades=True, book=True)
        await asyncio.wait_for(server.wait_finished(), 30)
        expected = recorded_trades("binance_spot_BTCUSDT_trades.csv",
                                   server.recording.frames[-1].recv_ns)
        trades = lambda: [m for m in out if isinstance(m, TradeTick)]  # noqa: E731
        await eventually(lambda: len(trades()) >= len(expected), within=10)
        got = [f"{t.trade_id}|{t.price.to_str()}|{t.quantity.to_str()}|{t.aggressor_side.value}"
               for t in trades()]
        assert checksum(got) == checksum(expected)
        book: dict[Side, dict[Decimal, Decimal]] = {Side.BUY: {}, Side.SELL: {}}
        for delta in (m for m in out if isinstance(m, BookDelta)):
            if delta.quantity.is_zero():
                book[delta.side].pop(delta.price.value, None)
            else:
                book[delta.side][delta.price.value] = delta.quantity.value
        assert max(book[Side.BUY]) < min(book[Side.SELL])
        assert alarms == []
    finally:
        await venue.close()


async def test_ccxt_rest_polling_trades_and_klines(make_replay: MakeReplay) -> None:
    server = await make_replay([SPOT_WS, SPOT_TRADES, "ohlcv/binance_usdm_XRPUSDT_1h.csv"],
                               seconds=30, speed=None, start="now")
    await server.wait_finished()
    out: list[Message] = []
    venue = CcxtVenue("binance", out.append, force_poll=True, poll_interval_s=0.05,
                      config=_config(server, ["spot", "linear"],
                                     fetchTradesMethod="publicGetTrades"))
    try:
        ids = await venue.load_markets()
        assert str(ids["XRP/USDT:USDT"]) == "XRP-USDT-PERP.binance"
        assert venue.caps.trades == "poll"
        await venue.subscribe("BTC/USDT", trades=True)
        await venue.subscribe("XRP/USDT:USDT", trades=False, ohlcv=[Interval.H1])
        await eventually(lambda: any(isinstance(m, Bar) for m in out)
                         and any(isinstance(m, TradeTick) for m in out), within=10)
        await asyncio.sleep(0.3)
        bars = [m for m in out if isinstance(m, Bar)]
        assert len(bars) == 99  # 100 recorded hours; the newest is still "forming"
        assert (bars[0].open.to_str(), bars[0].high.to_str()) == ("1.0801", "1.09758")
        polled = [m for m in out if isinstance(m, TradeTick)]
        recorded = {r["trade_id"] for r in trade_rows("binance_spot_BTCUSDT_trades.csv")}
        assert polled
        assert {t.trade_id for t in polled} <= recorded
        assert len({t.trade_id for t in polled}) == len(polled)  # polled twice, kept once
    finally:
        await venue.close()
