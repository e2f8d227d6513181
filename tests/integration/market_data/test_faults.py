"""Faults injected through the replay server's API while the service records: dropped
connections, a stalled feed, skipped depth sequence numbers, duplicated frames and a REST
outage during a reconnect. Storage must still equal the source, every hole must be
recorded with its cause, and the continuity report must show each one repaired."""

from __future__ import annotations

import asyncio
import time

import pytest

from argosy.venues.binance.markets import BinanceMarket
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
from tests.integration.market_data.test_ingest_replay import rebuild

pytestmark = pytest.mark.integration

FILES = [SPOT_WS, SPOT_TRADES, SPOT_SNAP, USDM_WS, USDM_TRADES, USDM_SNAP]
MALFORMED = [
    "not json at all",
    '{"unexpected": true}',
    '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"x",'
    '"q":"1","T":1,"m":true}}',
    '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","s":"BTCUSDT"}}',
]


async def finish(market: Market, expected: dict[str, list[str]]) -> int:
    """Until the replay ended and everything sent is stored; returns when it ended."""
    assert market.server is not None
    await asyncio.wait_for(market.server.wait_finished(), 90)
    ended = time.time_ns()

    async def all_stored() -> bool:
        await market.writer.flush()
        for key, lines in expected.items():
            if len(await market.svc.history.all_trades(key)) < len(lines):
                return False
        return True

    await eventually(all_stored, 60)
    await market.settle()
    return ended


async def assert_identical(market: Market, expected: dict[str, list[str]]) -> None:
    for key, lines in expected.items():
        rows = await market.svc.history.all_trades(key)
        assert len(rows) == len(lines)
        assert checksum(stored_lines(rows)) == checksum(lines)


async def test_drops_stall_skips_and_duplicates_leave_storage_identical(
    make_replay: MakeReplay, make_market: MakeMarket
) -> None:
    server = await make_replay(FILES, seconds=130, speed=15.0)
    until = server.recording.frames[-1].recv_ns
    expected = {SPOT: recorded_trades("binance_spot_BTCUSDT_trades.csv", until),
                PERP: recorded_trades("binance_usdm_BTCUSDT_trades.csv", until)}
    async with make_market(server, stale_after_s=1.5) as market:
        await market.recording_all(SPOT, PERP)
        server.play()
        stats = market.svc.pipeline.stats
        await eventually(lambda: stats.trades > 400)
        assert await server.drop_connections() == 2
        await eventually(lambda: stats.trades > 1500)

        def usdm_back() -> bool:  # one USD-M connection again, open and subscribed
            return [not c.closed_reason and bool(c.routes) for c in server.connections
                    if c.market is BinanceMarket.USDM] == [True]

        await eventually(usdm_back, 20)
        assert server.stall(BinanceMarket.USDM) == 1
        await eventually(lambda: market.svc.feeds.binance["usdm"].stream.stats.stale >= 1, 10)
        server.skip_depth(3, "BTCUSDT")
        server.duplicate(300)
        for text in MALFORMED:
            await server.inject_raw(text, BinanceMarket.SPOT)
        ended = await finish(market, expected)
        await assert_identical(market, expected)
        assert stats.rejected.get("duplicate", 0) == 0  # the connector removed them first
        gaps = (await market.get("/api/v1/market/gaps")).json()["items"]
        causes = {(g["instrument"], g["cause"]) for g in gaps}
        assert {(SPOT, "reconnect"), (PERP, "reconnect"), (PERP, "stale_feed")} <= causes, gaps
        assert any(g["cause"] == "sequence_gap" and g["stream"] == "book" for g in gaps)
        during = [g for g in gaps if g["found_ns"] < ended]
        assert during
        assert all(g["status"] == "repaired" for g in during), [
            (g["instrument"], g["stream"], g["cause"], g["status"], g.get("detail"))
            for g in during]
        # after the recording ended the venue went silent: that is a hole too, left open
        after = [g for g in gaps if g["found_ns"] >= ended]
        assert all(g["cause"] == "stale_feed" and g["status"] == "open" for g in after)
        for key, ws, snap, futures in ((SPOT, SPOT_WS, SPOT_SNAP, False),
                                       (PERP, USDM_WS, USDM_SNAP, True)):
            bids, asks, last = rebuild(ws, snap, until, futures)
            stored = await market.svc.history.book_at(key)
            assert stored is not None
            assert stored.last_update_id == last
            assert stored.depth(100) == (sorted(bids.items(), reverse=True)[:100],
                                         sorted(asks.items())[:100])
        alarms = {env.topic for env in market.events if env.topic.startswith("md.alarm")}
        assert alarms == {"md.alarm.binance"}
        # malformed frames: counted per kind, skipped (storage above is still identical)
        feeds = (await market.get("/api/v1/market/feeds")).json()["feeds"]
        assert feeds["spot"]["malformed"] == {"json": 1, "frame": 1, "trade": 1,
                                              "depthUpdate": 1}
        metrics = (await market.client.get("/metrics")).text
        assert 'argosy_md_feed_malformed_total{kind="trade",market="spot",' \
               'service="market-data"} 1.0' in metrics


async def test_gap_the_connector_cannot_fill_is_repaired_and_reported(
    make_replay: MakeReplay, make_market: MakeMarket
) -> None:
    server = await make_replay([SPOT_WS, SPOT_TRADES, SPOT_SNAP], seconds=130, speed=20.0)
    until = server.recording.frames[-1].recv_ns
    expected = {SPOT: recorded_trades("binance_spot_BTCUSDT_trades.csv", until)}
    async with make_market(server, instruments=(SPOT,)) as market:
        await market.recording_all(SPOT)
        server.play()
        stats = market.svc.pipeline.stats
        await eventually(lambda: stats.trades > 300)
        # REST fails while the connector reconnects: it cannot fetch the missed trades
        server.reject_next(500, count=12)
        assert await server.drop_connections() == 1
        await finish(market, expected)
        await eventually(lambda: market.tracker.repaired >= 1, 30)
        await market.settle()
        await assert_identical(market, expected)
        gaps = (await market.get("/api/v1/market/gaps", instrument=SPOT)).json()["items"]
        trade_gap = next(g for g in gaps if g["stream"] == "trades")
        assert trade_gap["cause"] == "reconnect"
        assert trade_gap["status"] == "repaired"
        assert trade_gap["method"] == "rest_historical_trades"
        missing = trade_gap["last_missing_id"] - trade_gap["first_missing_id"] + 1
        assert trade_gap["repaired"] == missing > 0
        report = (await market.get("/api/v1/market/continuity", instrument=SPOT,
                                   start_day="2024-08-08")).json()
        day = report["days"][0]
        assert day["day"] == "2024-08-08"
        assert day["trades"] == len(expected[SPOT])
        assert day["missing_trade_ids"] == 0
        assert trade_gap["id"] in [g["id"] for g in day["gaps"]]
        assert day["complete"] is True, day
        # bars over the repaired trades were rebuilt: 1m bars equal the source's
        from tests.integration.market_data.test_ingest_replay import (
            independent_bars,
            stored_bars,
        )
        mine = await stored_bars(market, SPOT, "1m")
        theirs = independent_bars("binance_spot_BTCUSDT_trades.csv", until, 60 * 10**9)
        assert mine
        assert mine == {t: theirs[t] for t in mine}
