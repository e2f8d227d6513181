"""Order book apply cost and market data parse + normalize throughput, on recorded data.

Data: the hftbacktest recordings of BTCUSDT (spot depth@100ms, USD-M depth@0ms) from
../shared/data, snapshot + every diff, replayed in order.

- ns per L2 delta: one (price, size) level update applied to `venues.book.OrderBook`
  (Decimal keys, sorted price index), prices already parsed; then the same including the
  str -> Decimal parse. Baseline in the same run: a plain `dict[float, float]` per side
  (no ordering, no Decimal), the cheapest thing that could still be called a book, with
  and without its own str -> float parse.
- messages/s: raw combined-stream frames (trades, bookTicker, depth diffs as recorded)
  through orjson + `BinanceMarketFeed` dispatch: parse, normalize to kernel messages
  (TradeTick / QuoteTick / BookDelta), dedupe, book sync and apply; no storage, no bus.
  Baselines: `json.loads` and `orjson.loads` of the same frames.

    .venv/bin/python -m bench.market_book [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Message
from argosy.venues.binance.feed import BinanceMarketFeed, FeedSettings
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.payloads import parse_depth_diff, parse_depth_snapshot
from argosy.venues.book import OrderBook, apply_levels, parse_levels

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = {
    BinanceMarket.SPOT: ("ws/binance_spot_BTCUSDT_20240808.jsonl.gz",
                         "BTC-USDT.binance"),
    BinanceMarket.USDM: ("ws/binance_usdm_BTCUSDT_20240808.jsonl.gz",
                         "BTC-USDT-PERP.binance"),
}


def _lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as handle:
        return [line for line in handle if line.strip()]


def _best(run: Callable[[], float], repeat: int) -> float:
    return min(run() for _ in range(repeat))


def bench_book(market: BinanceMarket, repeat: int) -> dict[str, float]:
    rows = [orjson.loads(line) for line in _lines(DATA / FILES[market][0])]
    snapshot = next(r["msg"] for r in rows if "lastUpdateId" in r["msg"])
    diffs = [r["msg"]["data"] for r in rows
             if r["msg"].get("data", {}).get("e") == "depthUpdate"
             and r["msg"]["data"]["u"] > snapshot["lastUpdateId"]]
    parsed = [(parse_levels(d["b"]), parse_levels(d["a"])) for d in diffs]
    levels = sum(len(b) + len(a) for b, a in parsed)
    snap = parse_depth_snapshot(snapshot)

    def decimal_book() -> float:
        book = OrderBook("BTCUSDT")
        book.load(snap.bids, snap.asks, snap.last_update_id)
        start = time.perf_counter_ns()
        for bids, asks in parsed:
            apply_levels(book.bids, bids)
            apply_levels(book.asks, asks)
        return (time.perf_counter_ns() - start) / levels

    def decimal_book_with_parse() -> float:
        book = OrderBook("BTCUSDT")
        book.load(snap.bids, snap.asks, snap.last_update_id)
        start = time.perf_counter_ns()
        for d in diffs:
            apply_levels(book.bids, parse_levels(d["b"]))
            apply_levels(book.asks, parse_levels(d["a"]))
        return (time.perf_counter_ns() - start) / levels

    floats = [([(float(p), float(q)) for p, q in d["b"]], [(float(p), float(q)) for p, q in d["a"]])
              for d in diffs]

    def float_dict(parse: bool) -> Callable[[], float]:
        def run() -> float:
            bids = {float(p): float(q) for p, q in snapshot["bids"]}
            asks = {float(p): float(q) for p, q in snapshot["asks"]}
            start = time.perf_counter_ns()
            for d, (fb, fa) in zip(diffs, floats, strict=True):
                pairs = ((bids, [(float(p), float(q)) for p, q in d["b"]]),
                         (asks, [(float(p), float(q)) for p, q in d["a"]])) if parse \
                    else ((bids, fb), (asks, fa))
                for side, updates in pairs:
                    for price, qty in updates:
                        if qty == 0.0:
                            side.pop(price, None)
                        else:
                            side[price] = qty
            return (time.perf_counter_ns() - start) / levels
        return run

    return {
        "levels": float(levels),
        "float dict (baseline)": _best(float_dict(False), repeat),
        "float dict+parse": _best(float_dict(True), repeat),
        "decimal book": _best(decimal_book, repeat),
        "decimal book+parse": _best(decimal_book_with_parse, repeat),
    }


def _frames(market: BinanceMarket) -> tuple[list[bytes], dict[str, Any], list[dict[str, Any]]]:
    """Frames after the recorded snapshot, the snapshot, and the diffs buffered before it."""
    rows = [orjson.loads(line) for line in _lines(DATA / FILES[market][0])]
    index = next(i for i, r in enumerate(rows) if "lastUpdateId" in r["msg"])
    frames = [orjson.dumps(r["msg"]) for r in rows[index + 1:] if "stream" in r["msg"]]
    early = [r["msg"]["data"] for r in rows[:index]
             if r["msg"].get("data", {}).get("e") == "depthUpdate"]
    return frames, rows[index]["msg"], early


async def _normalize_rate(market: BinanceMarket, frames: list[bytes], snapshot: dict[str, Any],
                          early: list[dict[str, Any]], deltas: bool) -> float:
    out: list[Message] = []
    feed = BinanceMarketFeed(market, out.append, settings=FeedSettings(emit_book_deltas=deltas))
    feed.add_instrument("BTCUSDT", InstrumentId.parse(FILES[market][1]))
    sync = feed.track_book("BTCUSDT")
    for diff in early:  # what a live connector buffered before its snapshot arrived
        sync.on_diff(parse_depth_diff(diff))
    assert feed.apply_snapshot("BTCUSDT", parse_depth_snapshot(snapshot)) == "synced"
    on_data = feed._on_data
    start = time.perf_counter()
    for raw in frames:
        frame = orjson.loads(raw)
        on_data(frame["stream"], frame["data"], 0)
    elapsed = time.perf_counter() - start
    await feed.close()
    return len(frames) / elapsed


def bench_normalize(market: BinanceMarket, repeat: int) -> dict[str, float]:
    frames, snapshot, early = _frames(market)

    def parse_only(loads: Callable[[bytes], Any]) -> float:
        start = time.perf_counter()
        for raw in frames:
            loads(raw)
        return len(frames) / (time.perf_counter() - start)

    return {
        "frames": float(len(frames)),
        "json.loads (baseline)": max(parse_only(json.loads) for _ in range(repeat)),
        "orjson.loads": max(parse_only(orjson.loads) for _ in range(repeat)),
        "parse+normalize": max(
            asyncio.run(_normalize_rate(market, frames, snapshot, early, True))
            for _ in range(repeat)),
        "parse+normalize, no deltas": max(
            asyncio.run(_normalize_rate(market, frames, snapshot, early, False))
            for _ in range(repeat)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for market in BinanceMarket:
        book = bench_book(market, args.repeat)
        base = book["float dict (baseline)"]
        print(f"\n{market.value} BTCUSDT: {int(book['levels'])} level updates")
        for name in ("float dict (baseline)", "float dict+parse", "decimal book",
                     "decimal book+parse"):
            print(f"  {name:<28} {book[name]:8.0f} ns/delta  {book[name] / base:5.2f}x baseline")
        rates = bench_normalize(market, args.repeat)
        base = rates["json.loads (baseline)"]
        print(f"  {int(rates['frames'])} recorded frames (trade, bookTicker, depth)")
        for name in ("json.loads (baseline)", "orjson.loads", "parse+normalize",
                     "parse+normalize, no deltas"):
            print(f"  {name:<28} {rates[name]:10,.0f} msg/s  {rates[name] / base:5.2f}x baseline")


if __name__ == "__main__":
    main()
