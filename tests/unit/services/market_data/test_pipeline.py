"""The live pipeline with in-memory neighbours (memory bus and cache; the writer's buffers
are inspected without a tsdb): what is rejected, counted and logged, what is stored and
what is published."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import orjson
from structlog.testing import capture_logs

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import BookDelta, QuoteTick, Side, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.platform.bus.base import Envelope
from argosy.platform.bus.memory import MemoryBus
from argosy.platform.cache.memory import MemoryCache
from argosy.services.market_data.domain.cleaning import OutlierFilter
from argosy.services.market_data.events import MarketEvents
from argosy.services.market_data.pipeline import Pipeline
from argosy.services.market_data.writer import SeriesWriter

IID = InstrumentId.parse("BTC-USDT.binance")
KEY = str(IID)
S = 1_000_000_000


def trade(ident: int, price: str, ts: int) -> TradeTick:
    return TradeTick(IID, Price(price), Quantity("0.5"), Side.BUY, str(ident), ts, ts)


def quote(bid: str, ask: str, ts: int) -> QuoteTick:
    return QuoteTick(IID, Price(bid), Quantity(1), Price(ask), Quantity(1), ts, ts)


def make() -> tuple[Pipeline, SeriesWriter, MemoryBus, list[Any]]:
    bus = MemoryBus()
    writer = SeriesWriter(None, flush_rows=10**9)  # type: ignore[arg-type]
    gaps: list[Any] = []
    pipe = Pipeline(writer, MarketEvents(bus), MemoryCache(namespace="t:"),
                    outliers=OutlierFilter(0.05), on_gap=lambda *a: gaps.append(a))
    pipe.subscribed.add(KEY)
    return pipe, writer, bus, gaps


async def test_rejections_are_counted_logged_once_and_never_stored() -> None:
    pipe, writer, _bus, gaps = make()
    with capture_logs() as logs:
        pipe.ingest(quote("100", "101", 0))
        pipe.ingest(trade(1, "100.5", 1 * S))
        pipe.ingest(trade(1, "100.5", 1 * S))  # duplicate
        pipe.ingest(trade(2, "150", 1 * S))  # outlier: 49% above the mid
        pipe.ingest(trade(3, "160", 1 * S))  # outlier again (logged once per minute)
        pipe.ingest(trade(6, "100.7", 2 * S))  # ids 2..5 were never accepted
        pipe.ingest(quote("102", "101", 3 * S))  # crossed
        pipe.ingest(TradeTick(InstrumentId.parse("ETH-USDT.binance"), Price(1), Quantity(1),
                              Side.SELL, "1", 0, 0))
    assert pipe.stats.rejected == {"duplicate": 1, "outlier": 2, "crossed_quote": 1,
                                   "unsubscribed": 1}
    assert [row[4] for row in writer._buffers["trades"]] == ["1", "6"]
    assert gaps == [(KEY, 4, 5, 2 * S)]  # 2 and 3 were seen (as outliers), 4..5 never
    logged = [(e["reason"], e["what"][:9]) for e in logs if e["event"] == "md_rejected"]
    assert logged == [("duplicate", "trade 1"), ("outlier", "trade 2: "),
                      ("crossed_quote", "bid 102 >")]
    assert "49.25% from the mid 100.5" in next(
        e["what"] for e in logs if e.get("reason") == "outlier")


async def test_bars_books_tickers_are_stored_published_and_cached() -> None:
    pipe, writer, bus, _ = make()
    seen: list[Envelope] = []

    async def collect(env: Envelope) -> None:
        seen.append(env)

    await bus.connect()
    await pipe.cache.connect()  # type: ignore[union-attr]
    await bus.subscribe("md.>", collect)
    pipe.ingest(quote("100", "101", 0))
    for i, ts in enumerate((1 * S, 1 * S + 5, 2 * S, 61 * S)):
        pipe.ingest(trade(10 + i, f"100.{i}", ts))
    for side, price, qty in ((Side.BUY, "100", "2"), (Side.SELL, "101", "3"),
                             (Side.BUY, "100", "0")):
        pipe.ingest(BookDelta(IID, side, Price(price), Quantity(qty), 7, 5, 5))
    intervals = sorted({row[1] for row in writer._buffers["bars"]})
    assert intervals == ["1m", "1s"]
    assert len(writer._buffers["book_deltas"]) == 3
    assert pipe.snapshot(KEY, "periodic")
    snap = writer._buffers["book_snapshots"][0]
    assert (snap[3], snap[5], snap[7]) == (7, [], [Decimal("101")])
    await pipe.events.flush()
    await asyncio.sleep(0.05)  # the memory bus delivers on the loop
    await pipe.flush_cache()
    topics = [e.topic for e in seen]
    assert topics.count("md.trade.binance.BTC-USDT") == 1  # one batch
    batch = orjson.loads(next(e.data for e in seen if e.topic.startswith("md.trade")))
    assert [t["trade_id"] for t in batch["items"]] == ["10", "11", "12", "13"]
    assert "md.bar.1m.binance.BTC-USDT" in topics
    assert "md.ticker.binance.BTC-USDT" in topics
    book = [orjson.loads(e.data) for e in seen if e.topic == "md.book.binance.BTC-USDT"]
    assert [b["type"] for b in book] == ["book_deltas", "book_snapshot"]
    ticker = await pipe.cache.get_json(f"ticker:{KEY}")  # type: ignore[union-attr]
    assert (ticker["bid"], ticker["last_price"], ticker["last_trade_id"]) == ("100", "100.3",
                                                                              "13")
    top = await pipe.cache.get_json(f"top:{KEY}")  # type: ignore[union-attr]
    assert top["asks"] == [["101", "3"]]
    assert top["bids"] == []
