"""The paper venue against REAL recorded Binance BTCUSDT book and trades (../shared/data).

Expectations are computed by hand from the raw recording (json lines, strings to Decimal,
a dict per book side), independently of the venue and of `recorded.py`:
- a market order's fills and average price equal walking the recorded book by hand;
- a resting bid at the best bid is filled exactly when the recorded sell trades at its
  price have exhausted the queue that was ahead of it (or a trade/quote goes through it).
"""

from __future__ import annotations

import functools
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from argosy.kernel.clock import SimClock
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Money, Price, Quantity
from argosy.kernel.orders import OrderRequest, OrderType
from argosy.venues.paper import FeeSchedule, PaperSettings, PaperVenue
from argosy.venues.paper.recorded import RecordedEvent, recorded_binance_events, replay
from tests.support.binance_data import ws_file, ws_lines

D = Decimal
SPOT = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT, Price("0.01"),
                  Quantity("0.00001"), Quantity("0.00001"), Money("5", "USDT"))
PERP = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.PERP, Price("0.1"),
                  Quantity("0.001"), Quantity("0.001"), Money("100", "USDT"))
CASES = {
    "spot": ("binance_spot_BTCUSDT_20240808.jsonl.gz", SPOT),
    "usdm": ("binance_usdm_BTCUSDT_20240808.jsonl.gz", PERP),
}


@functools.cache
def raw_stream(name: str) -> tuple[dict[str, Any], int, list[tuple[str, int, dict[str, Any]]]]:
    """(snapshot, its recv ns, [(kind, recv ns, data)]) read naively from the file."""
    rows = list(ws_lines(ws_file(name)))
    index = next(i for i, r in enumerate(rows) if "lastUpdateId" in r["msg"])
    snapshot = rows[index]["msg"]
    out = []
    for row in rows[index + 1:]:
        msg = row["msg"]
        if "stream" not in msg:
            continue
        data = msg["data"]
        if data.get("e") == "depthUpdate" and data["u"] > snapshot["lastUpdateId"]:
            out.append(("depth", row["recv_ts_ns"], data))
        elif data.get("e") == "trade":
            out.append(("trade", row["recv_ts_ns"], data))
    return snapshot, rows[index]["recv_ts_ns"], out


@functools.cache
def venue_events(name: str, instrument: Instrument) -> list[RecordedEvent]:
    return recorded_binance_events(ws_file(name), instrument.id)


def make_venue(instrument: Instrument, start_ns: int) -> tuple[PaperVenue, SimClock]:
    clock = SimClock(start_ns)
    settings = PaperSettings(fees={str(instrument.id): FeeSchedule(D(0), D("4"))},
                             starting_balances={"USDT": D(10_000_000), "BTC": D(100)})
    return PaperVenue("paper", {instrument.id: instrument}, clock, settings), clock


@pytest.fixture(autouse=True)
def _data(shared_data: Path) -> Path:
    return shared_data


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize(("cut", "side", "size"), [(0.3, "buy", "7.5"), (0.8, "sell", "12")])
def test_market_order_average_equals_walking_the_recorded_book(case: str, cut: float,
                                                               side: str, size: str) -> None:
    name, instrument = CASES[case]
    snapshot, start, stream = raw_stream(name)
    until = stream[int(len(stream) * cut)][1]
    bids = {D(p): D(q) for p, q in snapshot["bids"]}
    asks = {D(p): D(q) for p, q in snapshot["asks"]}
    for kind, recv, data in stream:
        if recv > until:
            break
        if kind == "depth":
            for book, key in ((bids, "b"), (asks, "a")):
                for p, q in data[key]:
                    if D(q):
                        book[D(p)] = D(q)
                    else:
                        book.pop(D(p), None)
    levels = sorted(asks.items()) if side == "buy" else sorted(bids.items(), reverse=True)
    want, expected = D(size), []
    for price, qty in levels:
        take = min(qty, want)
        expected.append((price, take))
        want -= take
        if not want:
            break
    venue, clock = make_venue(instrument, start)
    events = venue_events(name, instrument)
    cut_at = next((i for i, e in enumerate(events)
                   if getattr(e, "ts_recv_ns", getattr(e, "ts_ns", 0)) > until), len(events))
    replay(venue, events[:cut_at])
    clock.advance_to(until)
    report = venue.submit_now(OrderRequest("m1", instrument.id, Side(side), OrderType.MARKET,
                                           Quantity(size)))
    assert [(f.price.value, f.quantity.value) for f in report.fills] == expected
    assert len(expected) > 1  # the order really walked several levels
    with localcontext() as ctx:
        ctx.prec = 38  # the venue's documented precision (kernel MONEY_CONTEXT)
        average = sum(p * q for p, q in expected) / D(size)
    assert report.average_price is not None
    assert report.average_price.value == average
    assert report.filled_quantity == Quantity(size)
    assert all(f.fee.value == f.price.value * f.quantity.value * D("0.0004")
               for f in report.fills)


def expected_fills(snapshot: dict[str, Any], stream: list[tuple[str, int, dict[str, Any]]],
                   price: D, size: D) -> list[tuple[int, D, str]]:
    """By hand, conservative queue model: (recv ns, quantity, why) of each fill."""
    ahead = next(D(q) for p, q in snapshot["bids"] if D(p) == price)
    remaining, expected = size, []
    for kind, recv, data in stream:
        if not remaining:
            break
        if kind == "depth":
            for p, q in data["b"]:
                if D(p) == price:
                    ahead = min(ahead, D(q))
            if any(D(q) and D(p) <= price for p, q in data["a"]):
                expected.append((recv, remaining, "cross"))
                remaining = D(0)
            continue
        if not data["m"]:  # a buyer lifted the asks: not our side
            continue
        p, q = D(data["p"]), D(data["q"])
        if p < price:
            expected.append((recv, remaining, "through"))
            remaining = D(0)
        elif p == price:
            eaten = min(ahead, q)
            ahead -= eaten
            if not ahead and q > eaten:
                fill = min(remaining, q - eaten)
                expected.append((recv, fill, "queue"))
                remaining -= fill
    return expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_resting_bid_fills_when_recorded_trades_exhaust_the_queue(case: str) -> None:
    name, instrument = CASES[case]
    snapshot, start, stream = raw_stream(name)
    size = D("0.5")
    # the best bid levels, best first: take the first whose fill comes from the queue
    for price in sorted((D(p) for p, _ in snapshot["bids"]), reverse=True)[:200]:
        expected = expected_fills(snapshot, stream, price, size)
        if expected and expected[0][2] == "queue":
            break
    assert expected
    assert expected[0][2] == "queue"
    venue, _clock = make_venue(instrument, start)
    events = venue_events(name, instrument)
    replay(venue, events[:1])
    sent = venue.submit_now(OrderRequest("bid", instrument.id, Side.BUY, OrderType.LIMIT,
                                         Quantity(size), Price(price)))
    assert sent.filled_quantity == Quantity("0")
    replay(venue, events[1:])
    got = [(f.ts_ns, f.quantity.value) for f in venue.all_fills()]
    assert got == [(recv, qty) for recv, qty, _ in expected]
    assert all(f.price.value == price and f.liquidity.value == "maker"
               for f in venue.all_fills())


def test_replaying_the_recording_twice_gives_byte_identical_fills() -> None:
    name, instrument = CASES["spot"]
    events = venue_events(name, instrument)

    def run() -> list[str]:
        venue, _ = make_venue(instrument, 0)
        replay(venue, events[:1])
        for i in range(20):
            venue.submit_now(OrderRequest(f"b{i}", instrument.id, Side.BUY, OrderType.LIMIT,
                                          Quantity("0.01"), Price(D("61837.63") - 5 * i)))
            venue.submit_now(OrderRequest(f"s{i}", instrument.id, Side.SELL, OrderType.LIMIT,
                                          Quantity("0.01"), Price(D("61837.64") + 5 * i)))
        replay(venue, events[1:])
        return [repr(f) for f in venue.all_fills()]

    first = run()
    assert len(first) > 20
    assert first == run()


@pytest.mark.parametrize("case", sorted(CASES))
def test_proportional_queue_never_fills_later_than_conservative(case: str) -> None:
    """Proportional only ever moves an order further forward, so on the same recording its
    first fill comes no later than the conservative model's."""
    name, instrument = CASES[case]
    snapshot, start, _ = raw_stream(name)
    events = venue_events(name, instrument)
    bids = sorted((D(p) for p, _ in snapshot["bids"]), reverse=True)[:20]
    first: dict[str, list[int | None]] = {}
    for model in ("conservative", "proportional"):
        clock = SimClock(start)
        venue = PaperVenue("paper", {instrument.id: instrument}, clock, PaperSettings(
            starting_balances={"USDT": D(10_000_000)}, queue_model=model))  # type: ignore[arg-type]
        replay(venue, events[:1])
        for i, price in enumerate(bids):
            venue.submit_now(OrderRequest(f"b{i}", instrument.id, Side.BUY, OrderType.LIMIT,
                                          Quantity("0.01"), Price(price)))
        replay(venue, events[1:])
        fills = venue.all_fills()
        first[model] = [min((f.ts_ns for f in fills if f.client_order_id == f"b{i}"),
                            default=None) for i in range(len(bids))]
    assert any(t is not None for t in first["conservative"])
    for conservative, proportional in zip(first["conservative"], first["proportional"],
                                          strict=True):
        if conservative is not None:
            assert proportional is not None
            assert proportional <= conservative
    if case == "usdm":  # spot's price falls through these bids at once: same fills there
        assert first["proportional"] != first["conservative"]  # cancels moved orders up
