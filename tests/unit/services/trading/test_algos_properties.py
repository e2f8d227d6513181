"""Hypothesis properties of every algorithm under random markets, fills and user actions.

The "venue" here is the test: each child is answered with a report whose filled share is
drawn by hypothesis (IOC children expire with the rest, resting ones stay open), prices
wander, volume prints, and the user pauses, resumes or cancels at random.
"""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817  (amounts read better short)

from hypothesis import given, settings
from hypothesis import strategies as st

from argosy.kernel.errors import Conflict
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Money, Price, Quantity
from argosy.kernel.orders import ExecutionReport, OrderStatus, TimeInForce
from argosy.services.trading.domain.algos import (
    AlgoStatus,
    Iceberg,
    Intent,
    MarketSnapshot,
    ParentAlgo,
    ParentSpec,
    Pov,
    SubmitChild,
    Twap,
)

SPOT = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT, Price("0.01"),
                  Quantity("0.00001"), Quantity("0.00001"), Money("5", "USDT"))
S = 1_000_000_000
T0 = 1_723_161_254 * S


class Harness:
    """Carries out intents and answers children; checks the invariants after each call."""

    def __init__(self, algo: ParentAlgo) -> None:
        self.algo = algo
        self.resting: dict[str, SubmitChild] = {}
        self.sent: list[SubmitChild] = []

    def run(self, intents: list[Intent], t: int, price: D, share: D) -> None:
        for intent in intents:
            if isinstance(intent, SubmitChild):
                self.sent.append(intent)
                self.answer(intent, t, price, share)
            else:
                child = self.resting.pop(intent.child_id, None)
                if child is not None:
                    self.report(child, OrderStatus.CANCELLED, D(0), price, t)
        self.check()

    def answer(self, child: SubmitChild, t: int, price: D, share: D) -> None:
        qty = child.order.quantity.value
        filled = (qty * share).quantize(SPOT.lot_size.value)
        ioc = child.order.time_in_force is TimeInForce.IOC
        limit = child.order.price
        fill_price = price if limit is None or ioc else limit.value
        if filled == qty:
            status = OrderStatus.FILLED
        elif ioc:
            status = OrderStatus.EXPIRED
        else:
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.ACCEPTED
            self.resting[child.child_id] = child
        self.report(child, status, filled, fill_price, t)

    def report(self, child: SubmitChild, status: OrderStatus, filled: D, price: D,
               t: int) -> None:
        known = self.algo.children[child.child_id]
        filled = max(filled, known.filled.value)
        avg = None
        if filled:
            total = known.notional + price * (filled - known.filled.value)
            avg = Price(total / filled)
        more = self.algo.on_report(ExecutionReport(
            child.child_id, "v", SPOT.id, status, Quantity(filled), avg, t))
        self.run(more, t, price, D(1))

    def check(self) -> None:
        algo = self.algo
        assert algo.filled + algo.open_quantity <= algo.spec.quantity
        for sent in self.sent:
            order = sent.order
            assert order.quantity.is_multiple_of(SPOT.lot_size)
            assert order.quantity >= SPOT.min_qty
            assert order.price is None or order.price.is_multiple_of(SPOT.tick_size)
            bound = algo.bound
            if bound is not None and order.price is not None:
                assert order.price <= bound if algo.side is Side.BUY else order.price >= bound


actions = st.lists(st.tuples(
    st.integers(min_value=1, max_value=90),  # seconds to the next event
    st.integers(min_value=-30, max_value=30),  # price move in ticks x 10
    st.integers(min_value=0, max_value=400),  # volume printed (x 0.01)
    st.sampled_from([D(1), D(1), D("0.5"), D("0.3"), D(0)]),  # filled share of a child
    st.sampled_from(["step"] * 6 + ["pause", "resume", "cancel"]),
), min_size=1, max_size=40)


def make_algo(kind: str, side: Side, qty: str, slippage: D | None) -> ParentAlgo:
    spec = ParentSpec("p", SPOT, side, Quantity(qty), max_slippage_bps=slippage,
                      limit_price=Price("100") if kind == "iceberg" else None)
    if kind == "twap":
        return Twap(spec, T0, start_ns=T0, end_ns=T0 + 900 * S, slices=7,
                    randomize=D("0.2"), seed=3)
    if kind == "pov":
        return Pov(spec, T0, rate=D("0.2"), min_child=Quantity("0.05"),
                   max_child=Quantity("0.5"))
    return Iceberg(spec, T0, show_quantity=Quantity("0.07"))


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(["twap", "pov", "iceberg"]), side=st.sampled_from(list(Side)),
       qty=st.sampled_from(["0.1", "1", "2.34567"]),
       slippage=st.sampled_from([None, D(5), D(50)]), events=actions)
def test_children_never_exceed_the_parent_and_stay_on_lot_and_tick(
        kind: str, side: Side, qty: str, slippage: D | None,
        events: list[tuple[int, int, int, D, str]]) -> None:
    algo = make_algo(kind, side, qty, slippage)
    harness = Harness(algo)
    t, mid = T0, D(100)
    volume = D(0)
    for dt, move, printed, share, action in events:
        t += dt * S
        mid += D(move) / 10
        volume += D(printed) / 100
        market = MarketSnapshot(t, Price(mid - D("0.01")), Price(mid + D("0.01")),
                                Quantity(volume))
        try:
            if action == "pause":
                harness.run(algo.pause(t), t, mid, share)
            elif action == "resume":
                harness.run(algo.resume(t), t, mid, share)
            elif action == "cancel":
                harness.run(algo.cancel(t), t, mid, share)
        except Conflict:  # pausing a paused algorithm and the like: refused, no change
            pass
        harness.run(algo.step(t, market), t, mid, share)
    assert algo.filled <= algo.spec.quantity
    assert sum((c.filled for c in algo.children.values()), Quantity(0)) == algo.filled
    if algo.status is AlgoStatus.COMPLETED and algo.reason is None:
        assert algo.filled == algo.spec.quantity


@settings(max_examples=100, deadline=None)
@given(slices=st.integers(min_value=1, max_value=30),
       minutes=st.integers(min_value=1, max_value=120),
       qty=st.integers(min_value=1, max_value=10**7),
       randomize=st.sampled_from([D(0), D("0.1"), D("0.5"), D("0.9")]),
       seed=st.integers(min_value=0, max_value=2**32),
       tick_s=st.integers(min_value=1, max_value=30))
def test_twap_finishes_by_its_end_time_given_liquidity(
        slices: int, minutes: int, qty: int, randomize: D, seed: int, tick_s: int) -> None:
    quantity = Quantity(D(qty) * SPOT.lot_size.value)
    if SPOT.notional(Price("100"), quantity) < SPOT.min_notional:
        quantity = Quantity("0.05")
    end = T0 + minutes * 60 * S
    algo = Twap(ParentSpec("t", SPOT, Side.BUY, quantity), T0, start_ns=T0, end_ns=end,
                slices=slices, randomize=randomize, seed=seed)
    harness = Harness(algo)
    t = T0
    while t <= end and not algo.status.is_terminal:
        harness.run(algo.step(t, MarketSnapshot(t, Price("100"), Price("100.01"))), t,
                    D("100.01"), D(1))
        wake = algo.wake_at_ns(t)
        t = min(t + tick_s * S, wake if wake is not None else end)
    assert algo.status is AlgoStatus.COMPLETED
    finished = max(c.sent_ns for c in algo.children.values())
    assert finished < end
    if algo.reason is None:
        assert algo.filled == quantity
    else:  # only a remainder too small for the venue may be left
        assert SPOT.notional(Price("100.01"), quantity - algo.filled) < SPOT.min_notional


@settings(max_examples=100, deadline=None)
@given(rate=st.sampled_from([D("0.01"), D("0.05"), D("0.1"), D("0.25")]),
       min_child=st.sampled_from(["0.05", "0.2", "1"]),
       prints=st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=60))
def test_pov_participation_stays_within_min_child_of_the_target(
        rate: D, min_child: str, prints: list[int]) -> None:
    algo = Pov(ParentSpec("v", SPOT, Side.SELL, Quantity("1000")), T0, rate=rate,
               min_child=Quantity(min_child))
    harness = Harness(algo)
    volume, t = D(0), T0
    harness.run(algo.step(t, MarketSnapshot(t, Price("100"), Price("100.01"))), t, D(100),
                D(1))
    for printed in prints:
        t += S
        volume += D(printed) / 100
        harness.run(algo.step(t, MarketSnapshot(t, Price("100"), Price("100.01"),
                                                Quantity(volume))), t, D(100), D(1))
        target = (volume * rate).quantize(SPOT.lot_size.value, rounding="ROUND_DOWN")
        assert algo.filled.value <= target  # never ahead of the market
        assert target - algo.filled.value < D(min_child)  # never behind by a full child
