"""Recovery, proven against injected faults: the output must still equal the recording."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from argosy.venues.binance.book_sync import SyncState
from argosy.venues.binance.feed import FeedSettings
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.ws import StreamSettings
from tests.integration.venues.conftest import (
    SPOT_TRADES,
    SPOT_WS,
    USDM_TRADES,
    USDM_WS,
    MakeFeed,
    MakeReplay,
)
from tests.integration.venues.test_binance_feed_replay import (
    assert_book,
    checksum,
    eventually,
    received_trades,
    recorded_trades,
    run_to_end,
)

pytestmark = pytest.mark.integration

SPOT_SNAP = "binance_spot_BTCUSDT_rest_depth_snapshots.jsonl"
USDM_SNAP = "binance_usdm_BTCUSDT_rest_depth_snapshots.jsonl"
FAST = StreamSettings(backoff_initial_s=0.05, backoff_max_s=0.3, stale_after_s=0.5)
# For tests of other faults: a starved CI core must not turn a slow frame into a stale feed.
PATIENT = StreamSettings(backoff_initial_s=0.05, backoff_max_s=0.3, stale_after_s=10.0)


async def _start(make_replay: MakeReplay, make_feed: MakeFeed, market: BinanceMarket,
                 files: list[str], seconds: float, speed: float | None,
                 stream: StreamSettings = FAST, feed_settings: FeedSettings | None = None,
                 **server: object):
    replay = await make_replay(files, seconds=seconds, speed=speed, **server)
    feed, out = make_feed(replay, market, stream=stream, feed=feed_settings)
    await feed.load_instruments(["BTCUSDT"])
    await feed.subscribe("BTCUSDT")
    return replay, feed, out


def _subscribed(replay) -> bool:  # type: ignore[no-untyped-def]
    """One live socket carrying streams: a fault injected now hits a connected feed."""
    return len(replay.connections) == 1 and bool(replay.connections[0].routes)


def _expected(csv_name: str, replay) -> list[str]:  # type: ignore[no-untyped-def]
    return recorded_trades(csv_name, replay.recording.frames[-1].recv_ns)


async def test_dropped_connections_reconnect_resubscribe_and_backfill(
    make_replay: MakeReplay, make_feed: MakeFeed
) -> None:
    # Paced: a real exchange keeps trading while the connector reconnects, and the gap is
    # only seen (and filled) when the next trade arrives.
    replay, feed, out = await _start(make_replay, make_feed, BinanceMarket.SPOT,
                                     [SPOT_WS, SPOT_TRADES], 150, speed=30.0,
                                     stream=PATIENT)
    await eventually(lambda: len(out.trades()) > 300 and _subscribed(replay))
    dropped = await replay.drop_connections()
    assert dropped == 1
    await eventually(lambda: len(out.trades()) > 1200 and _subscribed(replay))
    assert await replay.drop_connections() == 1
    expected = _expected("binance_spot_BTCUSDT_trades.csv", replay)
    await run_to_end(replay, feed, out, len(expected))
    assert checksum(received_trades(out)) == checksum(expected)
    assert feed.stats.backfilled > 0  # the trades missed while reconnecting came from REST
    assert feed.stream.stats.connects == 3
    assert replay.connections[0].routes  # resubscribed: the new socket carries the streams
    assert set(replay.connections[0].routes.values()) == set(feed.stream.streams())
    assert "disconnected" in out.alarm_kinds()
    assert feed.stats.syncs >= 2  # depth frames were missed too: the book was rebuilt
    assert_book(feed, out, SPOT_WS.removeprefix("ws/"), SPOT_SNAP,
                replay.recording.frames[-1].recv_ns, futures=False)


async def test_stalled_feed_is_detected_reconnected_and_alarmed(
    make_replay: MakeReplay, make_feed: MakeFeed
) -> None:
    replay, feed, out = await _start(make_replay, make_feed, BinanceMarket.USDM,
                                     [USDM_WS, USDM_TRADES], 25, speed=10.0)
    await eventually(lambda: len(out.trades()) > 200 and _subscribed(replay))
    stale_before = feed.stream.stats.stale
    connects_before = feed.stream.stats.connects
    assert replay.stall() == 1
    await eventually(lambda: "stale_feed" in out.alarm_kinds(), within=5)
    stale = next(a for a in out.alarms if a.kind == "stale_feed")
    assert stale.topic == "md.alarm.binance"
    assert stale.market == "usdm"
    await eventually(lambda: feed.stream.stats.connects >= connects_before + 1, within=5)
    expected = _expected("binance_usdm_BTCUSDT_trades.csv", replay)
    await run_to_end(replay, feed, out, len(expected))
    assert checksum(received_trades(out)) == checksum(expected)
    assert feed.stream.stats.stale >= stale_before + 1
    assert_book(feed, out, USDM_WS.removeprefix("ws/"), USDM_SNAP,
                replay.recording.frames[-1].recv_ns, futures=True)


@pytest.mark.parametrize(
    ("market", "ws", "snap"),
    [(BinanceMarket.SPOT, SPOT_WS, SPOT_SNAP), (BinanceMarket.USDM, USDM_WS, USDM_SNAP)],
)
async def test_skipped_sequence_numbers_resync_the_book(
    make_replay: MakeReplay, make_feed: MakeFeed, market: BinanceMarket, ws: str, snap: str
) -> None:
    replay, feed, out = await _start(make_replay, make_feed, market, [ws], 25, speed=10.0)
    await eventually(lambda: feed.sync_state("BTCUSDT") is SyncState.SYNCED)
    replay.skip_depth(3, "BTCUSDT")
    await asyncio.wait_for(replay.wait_finished(), 30)
    await eventually(lambda: feed.stats.syncs >= 2 and feed.book("BTCUSDT") is not None)
    await asyncio.sleep(0.3)
    assert feed.stats.sequence_gaps >= 1
    assert "sequence_gap" in out.alarm_kinds()
    assert replay.faults.skip_depth == 0
    assert_book(feed, out, ws.removeprefix("ws/"), snap, replay.recording.frames[-1].recv_ns,
                futures=market is BinanceMarket.USDM)


async def test_duplicated_frames_are_removed(make_replay: MakeReplay, make_feed: MakeFeed
                                             ) -> None:
    replay, feed, out = await _start(make_replay, make_feed, BinanceMarket.SPOT,
                                     [SPOT_WS, SPOT_TRADES], 120, speed=None)
    await eventually(lambda: feed.sync_state("BTCUSDT") is SyncState.SYNCED)
    replay.duplicate(400)
    expected = _expected("binance_spot_BTCUSDT_trades.csv", replay)
    await run_to_end(replay, feed, out, len(expected))
    got = received_trades(out)
    assert len(got) == len(expected)
    assert checksum(got) == checksum(expected)
    assert feed.stats.duplicates > 50  # trades and quotes seen twice, delivered once
    assert feed.stats.book_ignored > 10  # depth duplicates ignored, not taken for gaps
    assert feed.stats.sequence_gaps == 0
    assert_book(feed, out, SPOT_WS.removeprefix("ws/"), SPOT_SNAP,
                replay.recording.frames[-1].recv_ns, futures=False)


async def test_nautilus_pair_never_syncs(make_replay: MakeReplay, make_feed: MakeFeed) -> None:
    """The nautilus snapshot and update are 10 minutes apart: the documented rule refuses
    them, the connector retries a bounded number of snapshots and then raises an alarm."""
    settings = FeedSettings(max_sync_attempts=3, sync_retry_s=0.01)
    replay = await make_replay(["book/binance_usdm_BTCUSDT_depth-snap_nautilus.csv",
                                "book/binance_usdm_BTCUSDT_depth-update_nautilus.csv"],
                               speed=None)
    feed, out = make_feed(replay, BinanceMarket.USDM, feed=settings)
    await feed.load_instruments(["BTCUSDT"])
    await feed.subscribe("BTCUSDT", trades=False, quotes=False)
    await eventually(lambda: "book_sync_failed" in out.alarm_kinds(), within=10)
    assert feed.stats.snapshots == 3
    assert [p for p, _ in replay.rest_log if "/depth" in p] == [
        "/fapi/v1/depth?symbol=BTCUSDT&limit=1000"] * 3
    assert feed.sync_state("BTCUSDT") is SyncState.BUFFERING
    assert feed.book("BTCUSDT") is None
    assert out.deltas() == []


async def test_planned_rotation_loses_nothing(make_replay: MakeReplay, make_feed: MakeFeed
                                              ) -> None:
    rotate = StreamSettings(max_connection_age_s=0.4, supervise_every_s=0.05, stale_after_s=5)
    replay, feed, out = await _start(make_replay, make_feed, BinanceMarket.SPOT,
                                     [SPOT_WS, SPOT_TRADES], 60, speed=25.0, stream=rotate)
    expected = _expected("binance_spot_BTCUSDT_trades.csv", replay)
    await run_to_end(replay, feed, out, len(expected))
    assert feed.stream.stats.rotations >= 2
    assert checksum(received_trades(out)) == checksum(expected)
    assert feed.stats.backfilled == 0  # make before break: nothing had to be fetched
    assert feed.stats.sequence_gaps == 0
    assert "disconnected" not in out.alarm_kinds()


async def test_malformed_frames_are_counted_logged_once_and_skipped(
    make_replay: MakeReplay, make_feed: MakeFeed
) -> None:
    replay, feed, out = await _start(make_replay, make_feed, BinanceMarket.SPOT,
                                     [SPOT_WS, SPOT_TRADES], 40, speed=10.0)
    await eventually(lambda: len(out.trades()) > 20)
    bad = [
        "not json at all",
        "[1, 2, 3]",
        '{"unexpected": true}',
        '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"x",'
        '"q":"1","T":1,"m":true}}',
        '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":2,"p":"1.5",'
        '"q":"-1","T":1,"m":true}}',
        '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","s":"BTCUSDT"}}',
        '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1"}}',
    ]
    with capture_logs() as logs:
        for text in bad * 2:
            await replay.inject_raw(text)
        expected = _expected("binance_spot_BTCUSDT_trades.csv", replay)
        await run_to_end(replay, feed, out, len(expected))
    assert dict(feed.stream.stats.malformed) == {
        "json": 2, "frame": 4, "trade": 4, "depthUpdate": 2, "bookTicker": 2}
    logged = [e["kind"] for e in logs if e["event"] == "binance_malformed_frame"]
    assert sorted(logged) == ["bookTicker", "depthUpdate", "frame", "json", "trade"]
    assert checksum(received_trades(out)) == checksum(expected)  # the loop went on
    assert feed.stream.stats.connects == 1
