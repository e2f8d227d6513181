"""Market-data service throughput and history query latency, on the recorded BTCUSDT data.

Ingest (one process, one event loop, as the service runs it): the raw combined-stream
frames recorded by hftbacktest (spot + USD-M BTCUSDT: trades, bookTicker, depth diffs),
after each market's recorded snapshot, go through cumulative stages:
  1. parse: orjson.loads of each frame (the baseline);
  2. + normalize: the Binance connector's dispatch (kernel messages, dedupe, book sync);
  3. + pipeline: the service's guards, bar chain, its L2 book, buffering;
  4. + publish: batches to a real NATS JetStream (nats-server from its wheel), flushed by
     the service's own loop every 100 ms;
  5. + store: the tsdb writer's batched inserts into embedded chdb (every 500 ms) and the
     final flush; the clock stops when everything is stored and published.

L2 deltas: every level update of the same recordings, normalized once to kernel
`BookDelta`s, then applied (a) to the service's book only (`OrderBook` side set, Decimal
keys, sorted index) and (b) through `Pipeline.ingest` (book + storage buffer + bus batch),
each in ns per delta against (baseline) a plain `dict[float, float]` per side.

Queries: real spot trades (19,904 rows recorded over 11 minutes) are loaded again and
again, each copy shifted by the recording's span, until the table holds >= 1 M trades over
more than a day (the recordings are far smaller than that: the rows are real, their
repetition is not); 1m bars are rebuilt from them in SQL. Then: one day of 1m candles
(1,440 bars) and 1 M trades read back into Python, each against the same session's
`SELECT 1` round trip as the baseline.

    .venv/bin/python -m bench.market_service_ingest [--copies 140] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import BookDelta, Message, Side
from argosy.platform.bus._embedded import run_nats_server
from argosy.platform.bus.base import Bus
from argosy.platform.bus.memory import MemoryBus
from argosy.platform.bus.nats import NatsBus
from argosy.platform.cache.memory import MemoryCache
from argosy.platform.tsdb.chdb import ChdbTSDB
from argosy.services.market_data.domain.queries import CandleQuery, Limits, TradeQuery
from argosy.services.market_data.events import MarketEvents
from argosy.services.market_data.history import History
from argosy.services.market_data.pipeline import Pipeline
from argosy.services.market_data.tables import TRADE_COLUMNS, Retention, ensure_tables
from argosy.services.market_data.writer import SeriesWriter
from argosy.venues.binance.feed import BinanceMarketFeed
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.payloads import parse_depth_diff, parse_depth_snapshot
from argosy.venues.book import OrderBook

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = {BinanceMarket.SPOT: ("ws/binance_spot_BTCUSDT_20240808.jsonl.gz", "BTC-USDT.binance"),
         BinanceMarket.USDM: ("ws/binance_usdm_BTCUSDT_20240808.jsonl.gz",
                              "BTC-USDT-PERP.binance")}


def _frames(market: BinanceMarket) -> tuple[list[bytes], dict[str, Any], list[dict[str, Any]]]:
    with gzip.open(DATA / FILES[market][0], "rb") as handle:
        rows = [orjson.loads(line) for line in handle if line.strip()]
    index = next(i for i, r in enumerate(rows) if "lastUpdateId" in r["msg"])
    frames = [orjson.dumps(r["msg"]) for r in rows[index + 1:] if "stream" in r["msg"]]
    early = [r["msg"]["data"] for r in rows[:index]
             if r["msg"].get("data", {}).get("e") == "depthUpdate"]
    return frames, rows[index]["msg"], early


def _feed(market: BinanceMarket, sink: Callable[[Message], None], snapshot: dict[str, Any],
          early: list[dict[str, Any]]) -> BinanceMarketFeed:
    feed = BinanceMarketFeed(market, sink)
    feed.add_instrument("BTCUSDT", InstrumentId.parse(FILES[market][1]))
    sync = feed.track_book("BTCUSDT")
    for diff in early:
        sync.on_diff(parse_depth_diff(diff))
    feed.apply_snapshot("BTCUSDT", parse_depth_snapshot(snapshot))
    return feed


async def ingest(stage: int, data: dict[BinanceMarket, Any], bus: Bus | None,
                 tsdb: ChdbTSDB | None) -> tuple[float, int]:
    """(frames/s, kernel messages) through `stage` (see the module docstring)."""
    cache = MemoryCache(namespace="bench:")
    await cache.connect()
    writer = SeriesWriter(tsdb, flush_interval_s=0.5)  # type: ignore[arg-type]
    events = MarketEvents(bus or MemoryBus(), max_pending=10**9)
    pipeline = Pipeline(writer, events, cache)
    pipeline.subscribed.update(iid for _, iid in FILES.values())
    count = [0]

    def counted(message: Message) -> None:
        count[0] += 1
        if stage >= 3:
            pipeline.ingest(message)

    feeds = {m: _feed(m, counted, snap, early) for m, (_, snap, early) in data.items()}
    work = [(feeds[m], raw) for m, (frames, _, _) in data.items() for raw in frames]
    tasks = []
    if stage >= 4:
        tasks.append(asyncio.create_task(events.run()))
    if stage >= 5:
        tasks.append(asyncio.create_task(writer.run()))
    loads, now = orjson.loads, time.time_ns
    start = time.perf_counter()
    for n, (feed, raw) in enumerate(work):
        frame = loads(raw)
        if stage >= 2:
            feed.stream.dispatch(frame["stream"], frame["data"], now())
        if n % 500 == 0:
            await asyncio.sleep(0)  # the flush loops run between frames, as in the service
    # drain explicitly while the loops still run, then stop them with nothing left to send
    # (a cancel landing on an in-flight JetStream publish is how a stop should not wait)
    if stage >= 5:
        await writer.flush()
    if stage >= 4:
        await events.flush()
    for task in tasks:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    elapsed = time.perf_counter() - start
    for feed in feeds.values():
        await feed.close()
    if stage >= 5:
        assert writer.pending() == 0
    return len(work) / elapsed, count[0]


async def bench_ingest(repeat: int, nats_url: str | None, tsdb: ChdbTSDB) -> None:
    data = {m: _frames(m) for m in BinanceMarket}
    frames = sum(len(f) for f, _, _ in data.values())
    bus: Bus | None = None
    if nats_url:
        bus = NatsBus(nats_url, source="bench")
        await bus.connect()
    names = ["parse (baseline)", "+ normalize", "+ pipeline", "+ publish (NATS)" if bus
             else "+ publish (memory bus)", "+ store (chdb)"]
    print(f"\ningest: {frames:,} recorded frames (spot + USD-M BTCUSDT)")
    base = 0.0
    for stage in range(1, 6):
        best, messages = 0.0, 0
        for _ in range(repeat):
            await tsdb.command("TRUNCATE TABLE IF EXISTS trades")
            rate, messages = await ingest(stage, data, bus if stage >= 4 else None,
                                          tsdb if stage >= 5 else None)
            best = max(best, rate)
        base = base or best
        extra = f"  ({messages:,} kernel messages)" if stage >= 2 else ""
        print(f"  {names[stage - 1]:<24} {best:10,.0f} frames/s  {best / base:6.3f}x{extra}")
    if bus is not None:
        await bus.close()


class _NullStore:
    """Accepts inserts and keeps nothing: the storage side is measured by `ingest`."""

    async def insert(self, table: str, columns: Any, rows: Any) -> None:
        return None


async def _deltas(data: dict[BinanceMarket, Any]) -> list[BookDelta]:
    """The kernel deltas the connector emits for the recorded depth diffs (both markets)."""
    out: list[BookDelta] = []

    def keep(message: Message) -> None:
        if isinstance(message, BookDelta):
            out.append(message)

    for market, (frames, snap, early) in data.items():
        feed = _feed(market, keep, snap, early)
        for raw in frames:
            frame = orjson.loads(raw)
            feed.stream.dispatch(frame["stream"], frame["data"], 0)
        await feed.close()
    return out


async def bench_deltas(data: dict[BinanceMarket, Any], repeat: int) -> None:
    deltas = await _deltas(data)
    n = len(deltas)
    floats = [(d.side is Side.BUY, str(d.instrument_id), float(d.price.value),
               float(d.quantity.value)) for d in deltas]

    def float_dict() -> float:
        books: dict[tuple[str, bool], dict[float, float]] = {}
        start = time.perf_counter_ns()
        for bid, key, price, qty in floats:
            side = books.get((key, bid))
            if side is None:
                side = books[(key, bid)] = {}
            if qty == 0.0:
                side.pop(price, None)
            else:
                side[price] = qty
        return (time.perf_counter_ns() - start) / n

    def service_book() -> float:
        books: dict[str, OrderBook] = {}
        start = time.perf_counter_ns()
        for d in deltas:
            key = str(d.instrument_id)
            book = books.get(key)
            if book is None:
                book = books[key] = OrderBook(key)
            book.side(d.side).set(d.price.value, d.quantity.value)
            book.last_update_id = d.sequence
        return (time.perf_counter_ns() - start) / n

    async def through_pipeline() -> float:
        """Timed per 5,000 deltas; between chunks the buffers are emptied (untimed) as the
        service's flush loops would, so a heap of unflushed rows does not tax the GC."""
        writer = SeriesWriter(_NullStore(), flush_interval_s=3600)  # type: ignore[arg-type]
        bus = MemoryBus()
        await bus.connect()
        events = MarketEvents(bus, max_pending=10**9)
        pipeline = Pipeline(writer, events, None)
        pipeline.subscribed.update(iid for _, iid in FILES.values())
        ingest, spent = pipeline.ingest, 0
        for lo in range(0, n, 5000):
            start = time.perf_counter_ns()
            for d in deltas[lo:lo + 5000]:
                ingest(d)
            spent += time.perf_counter_ns() - start
            await writer.flush()
            await events.flush()
        await bus.close()
        return spent / n

    base = min(float_dict() for _ in range(repeat))
    book = min(service_book() for _ in range(repeat))
    full = min([await through_pipeline() for _ in range(repeat)])
    print(f"\nL2 deltas: {n:,} level updates (spot + USD-M BTCUSDT, recorded diffs)")
    for name, value in (("float dict (baseline)", base), ("service book (Decimal)", book),
                        ("Pipeline.ingest (book+buffers)", full)):
        print(f"  {name:<32} {value:8.0f} ns/delta  {value / base:6.1f}x")


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:9.1f} ms"


async def bench_queries(tsdb: ChdbTSDB, copies: int, repeat: int) -> None:
    import csv

    key = "BTC-USDT.binance"
    with (DATA / "trades/binance_spot_BTCUSDT_trades.csv").open(newline="") as handle:
        real = list(csv.DictReader(handle))
    first, last = int(real[0]["ts_ms"]), int(real[-1]["ts_ms"])
    span_ms = last - first + 1
    ids = int(real[-1]["trade_id"]) - int(real[0]["trade_id"]) + 1
    await tsdb.command("TRUNCATE TABLE IF EXISTS trades")
    await tsdb.command("TRUNCATE TABLE IF EXISTS bars")
    started, now = time.perf_counter(), time.time_ns()
    for k in range(copies):
        rows = [(key, "trade", (int(r["ts_ms"]) + k * span_ms) * 1_000_000,
                 int(r["trade_id"]) + k * ids, str(int(r["trade_id"]) + k * ids),
                 r["price"], r["qty"], "sell" if r["is_buyer_maker"] == "true" else "buy",
                 now, "bench", now) for r in real]
        await tsdb.insert("trades", TRADE_COLUMNS, rows)
    loaded = time.perf_counter() - started
    total = copies * len(real)
    start_ns, end_ns = first * 1_000_000, (first + copies * span_ms) * 1_000_000
    history = History(tsdb)
    t0 = time.perf_counter()
    await history.rebuild_bars(key, "trade", start_ns, end_ns, 1)
    rollup = time.perf_counter() - t0
    hours = copies * span_ms / 3_600_000
    print(f"\nqueries: {total:,} trades = the {len(real):,} real spot trades x {copies} copies "
          f"shifted by {span_ms / 1000:.0f} s ({hours:.1f} h; repeated data, see docstring)")
    print(f"  load {total / loaded:,.0f} rows/s; SQL rollup of all 7 intervals "
          f"{rollup:.2f} s")

    async def timed(call: Callable[[], Any]) -> tuple[list[float], Any]:
        samples, result = [], None
        for _ in range(repeat):
            t = time.perf_counter()
            result = await call()
            samples.append(time.perf_counter() - t)
        return samples, result

    base, _ = await timed(lambda: tsdb.query("SELECT 1"))
    day = start_ns - start_ns % 86_400_000_000_000 + 86_400_000_000_000
    candle_q = CandleQuery.parse(key, "1m", str(day), str(day + 86_400_000_000_000), 5000, None,
                                 Limits())
    candles, bars = await timed(lambda: history.candles(candle_q))
    trade_q = TradeQuery(InstrumentId.parse(key), start_ns, None, 1_000_000, None)
    trades, got = await timed(lambda: history.trades(trade_q))
    raw, _ = await timed(lambda: tsdb.query(
        "SELECT ts, seq, trade_id, price, qty, side FROM trades WHERE instrument = {i:String} "
        "ORDER BY ts LIMIT 1000000", {"i": key}))
    agg, _ = await timed(lambda: tsdb.query(
        "SELECT count(), sum(qty), max(price) FROM trades FINAL WHERE instrument = {i:String}",
        {"i": key}))
    b = statistics.median(base)
    print(f"  SELECT 1 (baseline)          {_median_ms(base)}")
    for name, samples, note in (
        (f"1 day of 1m candles ({len(bars)})", candles, ""),
        (f"{len(got):,} trades into Python", trades, " (FINAL)"),
        ("the same without FINAL", raw, ""),
        (f"count/sum over {total:,}", agg, " (FINAL, no rows out)"),
    ):
        print(f"  {name:<28} {_median_ms(samples)}  {statistics.median(samples) / b:8.0f}x"
              f"{note}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--copies", type=int, default=140)
    parser.add_argument("--no-nats", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        nats_url = None
        if not args.no_nats:
            with contextlib.suppress(FileNotFoundError):
                nats_url = stack.enter_context(run_nats_server(Path(tmp) / "nats"))
        tsdb = ChdbTSDB(Path(tmp) / "tsdb", "bench")
        await tsdb.connect()
        await ensure_tables(tsdb, Retention())
        try:
            await bench_ingest(args.repeat, nats_url, tsdb)
            await bench_deltas({m: _frames(m) for m in BinanceMarket}, args.repeat)
            await bench_queries(tsdb, args.copies, args.repeat)
        finally:
            await tsdb.close()


if __name__ == "__main__":
    asyncio.run(main())
