"""The Binance connector against the replay server: what arrives is what was recorded.

Each test replays a window of a real recording as fast as the connector reads it and
compares the connector's output with an independent reading of the same files
(tests/support/binance_data.py): trade ids, prices, sizes and sides (count and checksum),
quote counts, and the final book against a naive dict rebuild of snapshot + diffs.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from decimal import Decimal

import pytest

from argosy.kernel.messages import Bar, Side
from argosy.kernel.money import Price, Quantity
from argosy.venues.binance.feed import BinanceMarketFeed
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.book import OrderBook
from argosy.venues.replay.server import ReplayServer
from tests.integration.venues.conftest import (
    SPOT_TRADES,
    SPOT_WS,
    USDM_TRADES,
    USDM_WS,
    Collected,
    MakeFeed,
    MakeReplay,
)
from tests.support.binance_data import rest_snapshots, stream_events, trade_rows
from tests.unit.venues.test_binance_book_sync import naive_rebuild

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], bool], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while not check():
            await asyncio.sleep(0.02)


def checksum(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def recorded_trades(csv_name: str, until_ns: int) -> list[str]:
    return [
        f"{r['trade_id']}|{Price(r['price']).to_str()}|{Quantity(r['qty']).to_str()}|"
        f"{'sell' if r['is_buyer_maker'] == 'true' else 'buy'}"
        for r in trade_rows(csv_name) if int(r["recv_ts_ns"]) <= until_ns
    ]


def received_trades(out: Collected) -> list[str]:
    return [f"{t.trade_id}|{t.price.to_str()}|{t.quantity.to_str()}|{t.aggressor_side.value}"
            for t in out.trades()]


def rebuild(ws: str, snap_file: str, until_ns: int, futures: bool
            ) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal], int]:
    snapshot = rest_snapshots(snap_file)[0]["msg"]
    diffs = [d for r, _, d in stream_events(ws) if d.get("e") == "depthUpdate" and r <= until_ns]
    return naive_rebuild(snapshot, diffs, futures)


def consumer_book(out: Collected) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    """What a consumer that only applies the published BookDeltas ends up holding."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for delta in out.deltas():
        side = bids if delta.side is Side.BUY else asks
        if delta.quantity.is_zero():
            side.pop(delta.price.value, None)
        else:
            side[delta.price.value] = delta.quantity.value
    return bids, asks


async def run_to_end(server: ReplayServer, feed: BinanceMarketFeed, out: Collected,
                     expected_trades: int) -> None:
    await asyncio.wait_for(server.wait_finished(), 60)
    await eventually(lambda: len(out.trades()) >= expected_trades
                     and feed.stream.stats.data_frames >= server.stats["frames_sent"] * 0.5)
    await asyncio.sleep(0.2)


def same_where_covered(book: OrderBook, bids: dict[Decimal, Decimal],
                       asks: dict[Decimal, Decimal]) -> None:
    """Level by level where the connector's snapshot was complete (see OrderBook), plus the
    best 100 levels as a consumer reads them."""
    floor, ceiling = book.bid_floor, book.ask_ceiling
    assert floor is not None
    assert ceiling is not None
    assert {p: q for p, q in book.bids.as_dict().items() if p >= floor} == {
        p: q for p, q in bids.items() if p >= floor}
    assert {p: q for p, q in book.asks.as_dict().items() if p <= ceiling} == {
        p: q for p, q in asks.items() if p <= ceiling}
    assert book.depth(100) == (sorted(bids.items(), reverse=True)[:100],
                               sorted(asks.items())[:100])


def assert_book(feed: BinanceMarketFeed, out: Collected, ws: str, snap: str, until: int,
                futures: bool) -> None:
    """The connector's book against the naive rebuild of the recorded snapshot + diffs.

    A REST snapshot holds the best 1000 levels, so a book (re)built from a snapshot taken
    later than the recorded one rightly lacks far levels the rebuild still carries: the two
    are compared where the connector's snapshot was complete.
    """
    bids, asks, last = rebuild(ws, snap, until, futures)
    book = feed.book("BTCUSDT")
    assert book is not None
    assert book.last_update_id == last
    assert len(book.bids) >= 900
    assert len(book.asks) >= 900
    same_where_covered(book, bids, asks)
    assert consumer_book(out) == (book.bids.as_dict(), book.asks.as_dict())


@pytest.mark.parametrize(
    ("market", "ws", "trades", "snap", "seconds"),
    [
        (BinanceMarket.SPOT, SPOT_WS, SPOT_TRADES,
         "binance_spot_BTCUSDT_rest_depth_snapshots.jsonl", 120),
        (BinanceMarket.USDM, USDM_WS, USDM_TRADES,
         "binance_usdm_BTCUSDT_rest_depth_snapshots.jsonl", 45),
    ],
)
async def test_replay_arrives_identical(make_replay: MakeReplay, make_feed: MakeFeed,
                                        market: BinanceMarket, ws: str, trades: str,
                                        snap: str, seconds: float) -> None:
    # Pings far more often than Binance does (pongs count against the 5 frames/s, so not
    # more often than this); a ping waits behind the frames already in the socket, hence
    # the 2 s allowance. A connector that did not answer would be dropped.
    server = await make_replay([ws, trades], seconds=seconds, speed=None,
                               ping_interval_s=0.3, pong_timeout_s=2.0)
    until = server.recording.frames[-1].recv_ns
    feed, out = make_feed(server, market)
    await feed.load_instruments(["BTCUSDT"])
    await feed.subscribe("BTCUSDT")
    expected = recorded_trades(trades.removeprefix("trades/"), until)
    await run_to_end(server, feed, out, len(expected))
    got = received_trades(out)
    assert len(got) == len(expected) > 1500
    assert checksum(got) == checksum(expected)
    quotes = [1 for r, s, _ in stream_events(ws.removeprefix("ws/"))
              if s.endswith("@bookTicker") and r <= until]
    assert len(out.quotes()) == len(quotes)
    assert_book(feed, out, ws.removeprefix("ws/"), snap, until, market is BinanceMarket.USDM)
    assert out.alarms == []
    assert feed.stats.syncs == 1
    assert feed.stream.stats.connects == 1
    assert sum(feed.stream.stats.malformed.values()) == 0


async def test_looped_replay_keeps_the_feed_consistent(make_replay: MakeReplay,
                                                        make_feed: MakeFeed) -> None:
    server = await make_replay([SPOT_WS], seconds=30, speed=None, loop=True)
    feed, out = make_feed(server, BinanceMarket.SPOT)
    await feed.load_instruments(["BTCUSDT"])
    await feed.subscribe("BTCUSDT")
    per_pass = sum(1 for f in server.recording.frames if f.event == "trade")
    await eventually(lambda: server.player.passes >= 2 and feed.stats.syncs >= 3)
    ids = [int(t.trade_id) for t in out.trades()]
    assert len(ids) > 2 * per_pass
    assert ids == sorted(set(ids))  # strictly increasing across the seams
    assert feed.stats.sequence_gaps >= 2  # each seam is seen as a gap and resynced


async def test_several_symbols_aggtrades_klines_and_books(make_replay: MakeReplay,
                                                          make_feed: MakeFeed) -> None:
    """cryptofeed's USD-M session: 4 symbols, aggTrade + kline_1m + depth@100ms streams,
    snapshots from its REST log. KEEPUSDT has no filter source, so no instrument: its book
    is still kept, but nothing is published for it."""
    ws = "cryptofeed_binance_usdm_20210722.jsonl"
    server = await make_replay(
        [f"ws/{ws}", "book/cryptofeed_binance_usdm_rest_depth_snapshots.jsonl"], speed=None,
        start="manual")
    feed, out = make_feed(server, BinanceMarket.USDM)
    loaded = {vi.symbol for vi in await feed.load_instruments()}
    assert loaded == {"AKROUSDT", "CTKUSDT", "SUSHIUSDT"}
    symbols = ["AKROUSDT", "CTKUSDT", "KEEPUSDT", "SUSHIUSDT"]
    for symbol in symbols:
        await feed.subscribe(symbol, trades=False, agg_trades=True, klines=["1m"])
    server.play()  # all four subscribed before the (fast) replay begins
    events = stream_events(ws)
    aggs = [d for _, s, d in events if s.endswith("@aggTrade") and d["s"] in loaded]
    await asyncio.wait_for(server.wait_finished(), 30)
    await eventually(lambda: len(out.trades()) >= len(aggs))
    await asyncio.sleep(0.2)
    assert sorted((t.instrument_id.base, int(t.trade_id)) for t in out.trades()) == sorted(
        (d["s"].removesuffix("USDT"), d["a"]) for d in aggs)
    closed = [d for _, s, d in events if s.endswith("@kline_1m") and d["k"]["x"]
              and d["s"] in loaded]
    bars = [m for m in out.messages if isinstance(m, Bar)]
    assert len(bars) == len(closed) > 0
    snapshots = {r["url"].split("symbol=")[1].split("&")[0]: r["msg"] for r in
                 rest_snapshots("cryptofeed_binance_usdm_rest_depth_snapshots.jsonl")}
    for symbol in symbols:
        diffs = [d for _, _, d in events if d.get("e") == "depthUpdate" and d["s"] == symbol]
        bids, asks, last = naive_rebuild(snapshots[symbol], diffs, futures=True)
        book = feed.book(symbol)
        assert book is not None
        assert book.last_update_id == last
        same_where_covered(book, bids, asks)
    assert feed.stats.unknown_symbol > 0  # KEEPUSDT frames: counted, not published
    assert {d.instrument_id.base for d in out.deltas()} == {"AKRO", "CTK", "SUSHI"}
