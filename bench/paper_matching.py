"""Paper venue matching cost on the recorded Binance BTCUSDT data (spot and USD-M).

Data: the hftbacktest recordings in ../shared/data/ws (REST snapshot, every depth diff as
one `BookDelta` per level, every trade as a `TradeTick`), parsed before timing.

- events/s: the recorded deltas and trades pushed through `PaperVenue.on_book_delta` /
  `on_trade` with 100 resting limit orders (50 bids, 50 asks, one tick apart from the
  touch outwards) that queue, get filled and pay fees as the recording trades through them.
  Baseline in the same run: the cheapest possible consumer of the same messages, a loop
  that does `dict[price] = size` (or pop) per delta and remembers the last trade price.
- ns per market order: `submit_now` of a market order walking the recorded book (sizes
  that take exactly 1 to 5 levels), fills, fees and balances included; the book is
  re-loaded from the snapshot every 2 orders (untimed), so each walks the recorded book.
  Baseline: the same walk in plain Python over a sorted list of (Decimal price, Decimal
  size) pairs, with no order, fill or balance.

    .venv/bin/python -m bench.paper_matching [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal
from pathlib import Path

from argosy.kernel.clock import SimClock
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import BookDelta, Side, TradeTick
from argosy.kernel.money import Money, Price, Quantity
from argosy.kernel.orders import OrderRequest, OrderType
from argosy.venues.paper import FeeSchedule, PaperSettings, PaperVenue
from argosy.venues.paper.recorded import BookSnapshot, RecordedEvent, recorded_binance_events

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CASES = (
    ("spot", "ws/binance_spot_BTCUSDT_20240808.jsonl.gz",
     Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT, Price("0.01"),
                Quantity("0.00001"), Quantity("0.00001"), Money("5", "USDT"))),
    ("usdm", "ws/binance_usdm_BTCUSDT_20240808.jsonl.gz",
     Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, Price("0.1"),
                Quantity("0.001"), Quantity("0.001"), Money("100", "USDT"))),
)
SETTINGS = dict(fees={}, default_fees=FeeSchedule(Decimal("1"), Decimal("4")),
                starting_balances={"USDT": Decimal(10**9), "BTC": Decimal(10**4)})


def _venue(instrument: Instrument, snapshot: BookSnapshot) -> PaperVenue:
    venue = PaperVenue("bench", {instrument.id: instrument}, SimClock(snapshot.ts_ns),
                       PaperSettings(**SETTINGS))  # type: ignore[arg-type]
    venue.on_book_snapshot(instrument.id, snapshot.bids, snapshot.asks, snapshot.ts_ns)
    return venue


def bench_events(instrument: Instrument, events: list[RecordedEvent], repeat: int
                 ) -> dict[str, float]:
    snapshot = events[0]
    assert isinstance(snapshot, BookSnapshot)
    flow = events[1:]
    tick = instrument.tick_size.value
    lot = Quantity(instrument.min_qty.value * 10)

    def engine() -> tuple[float, int]:
        venue = _venue(instrument, snapshot)
        best_bid, best_ask = snapshot.bids[0][0].value, snapshot.asks[0][0].value
        for i in range(50):
            venue.submit_now(OrderRequest(f"b{i}", instrument.id, Side.BUY, OrderType.LIMIT,
                                          lot, Price(best_bid - tick * i * 10)))
            venue.submit_now(OrderRequest(f"s{i}", instrument.id, Side.SELL, OrderType.LIMIT,
                                          lot, Price(best_ask + tick * i * 10)))
        on_delta, on_trade = venue.on_book_delta, venue.on_trade
        start = time.perf_counter()
        for event in flow:
            if type(event) is BookDelta:
                on_delta(event)
            else:
                on_trade(event)  # type: ignore[arg-type]
        elapsed = time.perf_counter() - start
        return len(flow) / elapsed, len(venue.all_fills())

    def baseline() -> float:
        bids: dict[Decimal, Decimal] = {p.value: q.value for p, q in snapshot.bids}
        asks: dict[Decimal, Decimal] = {p.value: q.value for p, q in snapshot.asks}
        last = Decimal(0)
        start = time.perf_counter()
        for event in flow:
            if type(event) is BookDelta:
                side = bids if event.side is Side.BUY else asks
                if event.quantity.value:
                    side[event.price.value] = event.quantity.value
                else:
                    side.pop(event.price.value, None)
            else:
                assert isinstance(event, TradeTick)
                last = event.price.value
        elapsed = time.perf_counter() - start
        assert last
        return len(flow) / elapsed

    runs = [engine() for _ in range(repeat)]
    return {"events": float(len(flow)), "baseline": max(baseline() for _ in range(repeat)),
            "engine": max(r[0] for r in runs), "fills": float(runs[0][1])}


def bench_market_orders(instrument: Instrument, events: list[RecordedEvent], repeat: int,
                        count: int = 1000) -> dict[str, float]:
    snapshot = events[0]
    assert isinstance(snapshot, BookSnapshot)
    def depth(levels: list[tuple[Price, Quantity]], n: int) -> Quantity:
        return Quantity(sum((q.value for _, q in levels[:n]), Decimal(0)))

    # sizes that take exactly 1..5 levels of the recorded book on each side
    sizes = {Side.BUY: [depth(snapshot.asks, n) for n in range(1, 6)],
             Side.SELL: [depth(snapshot.bids, n) for n in range(1, 6)]}
    orders = []
    for i in range(count):
        side = Side.BUY if i % 2 else Side.SELL
        orders.append(OrderRequest(f"m{i}", instrument.id, side, OrderType.MARKET,
                                   sizes[side][(i // 2) % 5]))

    def engine() -> float:
        total = 0
        venue = _venue(instrument, snapshot)
        for i, order in enumerate(orders):
            if i % 2 == 0:  # a buy and a sell never touch the same levels
                venue.on_book_snapshot(instrument.id, snapshot.bids, snapshot.asks,
                                       snapshot.ts_ns)
            start = time.perf_counter_ns()
            venue.submit_now(order)
            total += time.perf_counter_ns() - start
        return total / count

    bids = [(p.value, q.value) for p, q in snapshot.bids]
    asks = [(p.value, q.value) for p, q in snapshot.asks]

    def baseline() -> float:
        start = time.perf_counter_ns()
        for order in orders:
            levels = asks if order.side is Side.BUY else bids
            want, cost = order.quantity.value, Decimal(0)
            for price, size in levels:
                take = size if size < want else want
                cost += price * take
                want -= take
                if not want:
                    break
        return (time.perf_counter_ns() - start) / count

    return {"baseline": min(baseline() for _ in range(repeat)),
            "engine": min(engine() for _ in range(repeat))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name, path, instrument in CASES:
        events = recorded_binance_events(DATA / path, instrument.id)
        rates = bench_events(instrument, events, args.repeat)
        base = rates["baseline"]
        print(f"\n{name} BTCUSDT: {int(rates['events'])} recorded deltas + trades, "
              f"100 resting orders ({int(rates['fills'])} fills)")
        print(f"  {'dict update loop (baseline)':<30} {base:12,.0f} events/s  1.00x")
        print(f"  {'paper venue':<30} {rates['engine']:12,.0f} events/s  "
              f"{rates['engine'] / base:5.2f}x baseline ({base / rates['engine']:.1f}x slower)")
        cost = bench_market_orders(instrument, events, args.repeat)
        base = cost["baseline"]
        print(f"  {'walk the book (baseline)':<30} {base:12,.0f} ns/market order  1.00x")
        print(f"  {'paper venue submit_now':<30} {cost['engine']:12,.0f} ns/market order  "
              f"{cost['engine'] / base:5.2f}x baseline")


if __name__ == "__main__":
    main()
