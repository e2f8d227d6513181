"""Recorded data replayed through the replay venue into the running service ends up in
storage identical to the source: trade rows and checksums, the stored book (snapshot +
deltas) and the live book against an independent rebuild of the recorded snapshot and
diffs, and bars stored equal to bars computed here from the recorded trades."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from decimal import Decimal

import orjson
import pytest

from argosy.kernel.money import Price, Quantity
from tests.integration.market_data.conftest import (
    PERP,
    SPOT,
    SPOT_SNAP,
    SPOT_TRADES,
    SPOT_WS,
    USDM_SNAP,
    USDM_TRADES,
    USDM_WS,
    MakeMarket,
    MakeReplay,
    Market,
    checksum,
    eventually,
    recorded_trades,
    stored_lines,
)
from tests.support.binance_data import rest_snapshots, stream_events
from tests.unit.venues.test_binance_book_sync import naive_rebuild

pytestmark = pytest.mark.integration

FILES = [SPOT_WS, SPOT_TRADES, SPOT_SNAP, USDM_WS, USDM_TRADES, USDM_SNAP]


def rebuild(ws: str, snap: str, until_ns: int, futures: bool
            ) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal], int]:
    snapshot = rest_snapshots(snap.removeprefix("book/"))[0]["msg"]
    diffs = [d for r, _, d in stream_events(ws.removeprefix("ws/"))
             if d.get("e") == "depthUpdate" and r <= until_ns]
    return naive_rebuild(snapshot, diffs, futures)


def independent_bars(csv_name: str, until_ns: int, step_ns: int
                     ) -> dict[int, tuple[str, str, str, str, str, int]]:
    """OHLCV per bucket straight from the recorded CSV (no code of the service)."""
    from tests.support.binance_data import trade_rows

    acc: dict[int, list[Decimal | int]] = {}
    for r in trade_rows(csv_name):
        if int(r["recv_ts_ns"]) > until_ns:
            continue
        ts = int(r["ts_ms"]) * 1_000_000
        bucket = ts - ts % step_ns
        price, qty = Decimal(r["price"]), Decimal(r["qty"])
        bar = acc.get(bucket)
        if bar is None:
            acc[bucket] = [price, price, price, price, qty, 1]
        else:
            bar[1] = max(bar[1], price)
            bar[2] = min(bar[2], price)
            bar[3] = price
            bar[4] += qty
            bar[5] += 1
    return {t: (Price(b[0]).to_str(), Price(b[1]).to_str(), Price(b[2]).to_str(),
                Price(b[3]).to_str(), Quantity(b[4]).to_str(), int(b[5]))
            for t, b in acc.items()}


async def stored_bars(market: Market, key: str, interval: str
                      ) -> dict[int, tuple[str, str, str, str, str, int]]:
    result = await market.runtime.tsdb.query(  # type: ignore[union-attr]
        "SELECT ts_open, open, high, low, close, volume, trades FROM bars FINAL WHERE "
        "instrument = {i:String} AND interval = {iv:String} AND source = 'trades'",
        {"i": key, "iv": interval})
    return {int(t): (Price(o).to_str(), Price(h).to_str(), Price(lo).to_str(),
                     Price(c).to_str(), Quantity(v).to_str(), int(n))
            for t, o, h, lo, c, v, n in result.rows}


async def play_to_end(market: Market, expected: dict[str, int]) -> None:
    server = market.server
    assert server is not None
    server.play()
    await asyncio.wait_for(server.wait_finished(), 60)
    stats = market.svc.pipeline.stats
    await eventually(lambda: stats.trades >= sum(expected.values()), 30)
    await asyncio.sleep(0.3)
    await market.settle()


async def test_replay_into_storage_is_identical_to_the_source(
    make_replay: MakeReplay, make_market: MakeMarket
) -> None:
    server = await make_replay(FILES, seconds=130, speed=None)
    until = server.recording.frames[-1].recv_ns
    expected = {SPOT: recorded_trades("binance_spot_BTCUSDT_trades.csv", until),
                PERP: recorded_trades("binance_usdm_BTCUSDT_trades.csv", until)}
    async with make_market(server) as market:
        await market.recording_all(SPOT, PERP)
        await play_to_end(market, {k: len(v) for k, v in expected.items()})
        for key, lines in expected.items():
            rows = await market.svc.history.all_trades(key)
            assert len(rows) == len(lines) > 500
            assert checksum(stored_lines(rows)) == checksum(lines)
        # books: the live one, the stored one (snapshot + deltas) and a naive rebuild
        for key, ws, snap, futures in ((SPOT, SPOT_WS, SPOT_SNAP, False),
                                       (PERP, USDM_WS, USDM_SNAP, True)):
            bids, asks, last = rebuild(ws, snap, until, futures)
            live = market.svc.pipeline.book(key)
            assert live is not None
            assert live.last_update_id == last
            assert live.depth(200) == (sorted(bids.items(), reverse=True)[:200],
                                       sorted(asks.items())[:200])
            stored = await market.svc.history.book_at(key)
            assert stored is not None
            assert stored.bids.as_dict() == live.bids.as_dict()
            assert stored.asks.as_dict() == live.asks.as_dict()
            assert stored.last_update_id == last
        # bars: every closed 1s and 1m bar equals the independent computation
        for key, csv_name in ((SPOT, "binance_spot_BTCUSDT_trades.csv"),
                              (PERP, "binance_usdm_BTCUSDT_trades.csv")):
            for interval, step in (("1s", 10**9), ("1m", 60 * 10**9)):
                mine = await stored_bars(market, key, interval)
                theirs = independent_bars(csv_name, until, step)
                assert len(mine) > 0
                assert mine == {t: theirs[t] for t in mine}
                assert len(theirs) - len(mine) <= 1  # the bar still open is not stored
        assert market.svc.pipeline.stats.rejected.get("duplicate", 0) == 0
        # published: every trade once on md.trade, and tickers and deltas
        published: dict[str, list[str]] = defaultdict(list)
        for env in market.events:
            if env.topic.startswith("md.trade."):
                body = orjson.loads(env.data)
                published[body["instrument_id"]] += [i["trade_id"] for i in body["items"]]
        assert published[SPOT] == [line.split("|")[0] for line in expected[SPOT]]
        topics = {env.topic for env in market.events}
        assert {"md.ticker.binance.BTC-USDT", "md.book.binance.BTC-USDT-PERP",
                "md.bar.1m.binance.BTC-USDT"} <= topics
