"""Execution algorithms, driven by hand: schedules, child sizes, pause/resume/cancel,
slippage protection and persistence. Reports are built the way a venue sends them
(cumulative filled quantity and average price)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal as D  # noqa: N817  (amounts read better short)

import pytest

from argosy.kernel.errors import Conflict, Invalid
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Money, Price, Quantity
from argosy.kernel.orders import ExecutionReport, OrderStatus, OrderType, TimeInForce
from argosy.services.trading.domain.algos import (
    AlgoStatus,
    CancelChild,
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


def spec(qty: str = "1", side: Side = Side.BUY, **kw: object) -> ParentSpec:
    return ParentSpec("a1", SPOT, side, Quantity(qty), **kw)  # type: ignore[arg-type]


def snap(t: int, bid: str = "100", ask: str = "100.02", volume: str = "0") -> MarketSnapshot:
    return MarketSnapshot(t, Price(bid), Price(ask), Quantity(volume))


def submits(intents: Sequence[Intent]) -> list[SubmitChild]:
    return [i for i in intents if isinstance(i, SubmitChild)]


def report(intent: SubmitChild, status: OrderStatus, filled: str, price: str | None = None,
           t: int = T0) -> ExecutionReport:
    return ExecutionReport(intent.child_id, "v1", SPOT.id, status, Quantity(filled),
                           None if price is None else Price(price), t)


def fill_all(algo: ParentAlgo, intents: Sequence[Intent], price: str, t: int
             ) -> list[Intent]:
    more: list[Intent] = []
    for child in submits(intents):
        more += algo.on_report(report(child, OrderStatus.FILLED,
                                      child.order.quantity.to_str(), price, t))
    return more


# -- TWAP -------------------------------------------------------------------------------

def test_twap_schedule_equal_slices_and_one_child_per_slice() -> None:
    algo = Twap(spec("1"), T0, start_ns=T0, end_ns=T0 + 240 * S, slices=4)
    assert algo.schedule.times_ns == (T0, T0 + 60 * S, T0 + 120 * S, T0 + 180 * S)
    assert [q.to_str() for q in algo.schedule.targets] == ["0.25", "0.5", "0.75", "1"]
    first = submits(algo.step(T0, snap(T0)))
    assert len(first) == 1
    order = first[0].order
    assert (order.type, order.time_in_force, order.quantity) == (
        OrderType.MARKET, TimeInForce.IOC, Quantity("0.25"))
    assert order.client_order_id == "a1-1"
    assert order.instrument_id == SPOT.id
    assert fill_all(algo, first, "100.02", T0) == []
    assert algo.step(T0 + 59 * S, snap(T0 + 59 * S)) == []  # slice 2 not due yet
    for k in (1, 2, 3):
        t = T0 + 60 * k * S
        fill_all(algo, algo.step(t, snap(t)), "100.02", t)
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.filled == Quantity("1")
    assert algo.average_price == Price("100.02")


def test_twap_randomised_schedule_is_seeded_and_stays_in_its_slots() -> None:
    def make(seed: int) -> Twap:
        return Twap(spec("1"), T0, start_ns=T0, end_ns=T0 + 600 * S, slices=10,
                    randomize=D("0.3"), seed=seed)
    a, b, c = make(7), make(7), make(8)
    assert a.schedule == b.schedule
    assert a.schedule != c.schedule
    targets = a.schedule.targets
    assert targets[-1] == Quantity("1")
    assert list(targets) == sorted(targets)
    assert all(q.is_multiple_of(SPOT.lot_size) for q in targets)
    assert len({targets[0], targets[1] - targets[0], targets[2] - targets[1]}) > 1
    for i, t in enumerate(a.schedule.times_ns):
        assert T0 + i * 60 * S <= t < T0 + (i + 1) * 60 * S


def test_twap_partial_fill_rolls_into_the_next_child() -> None:
    algo = Twap(spec("1"), T0, start_ns=T0, end_ns=T0 + 240 * S, slices=4)
    child = submits(algo.step(T0, snap(T0)))[0]
    assert algo.step(T0, snap(T0)) == []  # waits for the child's report
    algo.on_report(report(child, OrderStatus.PARTIALLY_FILLED, "0.1", "100.02"))
    algo.on_report(report(child, OrderStatus.EXPIRED, "0.1", "100.02"))
    algo.on_report(report(child, OrderStatus.EXPIRED, "0.1", "100.02"))  # duplicate
    assert algo.filled == Quantity("0.1")
    again = submits(algo.step(T0 + S, snap(T0 + S)))
    assert again[0].order.quantity == Quantity("0.15")


def test_pause_cancels_children_and_shifts_the_schedule() -> None:
    algo = Twap(spec("1"), T0, start_ns=T0, end_ns=T0 + 240 * S, slices=4)
    child = submits(algo.step(T0, snap(T0)))[0]
    intents = algo.pause(T0 + 10 * S)
    assert intents == [CancelChild(child.child_id, "paused")]
    algo.on_report(report(child, OrderStatus.CANCELLED, "0.05", "100.02"))
    assert algo.step(T0 + 70 * S, snap(T0 + 70 * S)) == []
    with pytest.raises(Conflict):
        algo.pause(T0 + 80 * S)
    algo.resume(T0 + 100 * S)  # paused 90 s
    assert algo.end_ns == T0 + 330 * S
    # in schedule time it is 10 s: slice 1 (0.25) is due, 0.05 of it filled
    resumed = submits(algo.step(T0 + 100 * S, snap(T0 + 100 * S)))
    assert resumed[0].order.quantity == Quantity("0.2")
    fill_all(algo, resumed, "100", T0 + 100 * S)
    assert algo.step(T0 + 149 * S, snap(T0 + 149 * S)) == []  # slice 2 at 60+90 s
    assert submits(algo.step(T0 + 150 * S, snap(T0 + 150 * S)))


def test_cancel_is_terminal_and_still_counts_late_fills() -> None:
    algo = Twap(spec("1"), T0, start_ns=T0, end_ns=T0 + 240 * S, slices=4)
    child = submits(algo.step(T0, snap(T0)))[0]
    assert algo.cancel(T0 + S) == [CancelChild(child.child_id, "cancelled")]
    assert algo.cancel(T0 + 2 * S) == []
    assert algo.status is AlgoStatus.CANCELLED
    assert algo.reason == "cancelled by the user"
    algo.on_report(report(child, OrderStatus.FILLED, "0.25", "100.02"))
    assert algo.filled == Quantity("0.25")
    assert algo.status is AlgoStatus.CANCELLED
    assert algo.step(T0 + 60 * S, snap(T0 + 60 * S)) == []
    with pytest.raises(Conflict):
        algo.resume(T0 + 3 * S)


def test_slippage_cap_makes_protected_limits_and_stops_when_the_market_runs() -> None:
    algo = Twap(spec("1", max_slippage_bps=D("10")), T0, start_ns=T0, end_ns=T0 + 240 * S,
                slices=4)
    child = submits(algo.step(T0, snap(T0, "100", "100.02")))[0]
    assert algo.arrival == Price("100.01")  # the mid
    # 100.01 x 1.001 = 100.11001, rounded down on the tick: never beyond the cap
    assert (child.order.type, child.order.price) == (OrderType.LIMIT, Price("100.11"))
    assert child.order.time_in_force is TimeInForce.IOC
    fill_all(algo, [child], "100.02", T0)
    t = T0 + 60 * S
    assert algo.step(t, snap(t, "100.1", "100.13")) == []
    assert algo.status is AlgoStatus.STOPPED_SLIPPAGE
    assert algo.reason is not None
    assert "ask 100.13" in algo.reason
    assert "max 10" in algo.reason


def test_slippage_stops_on_a_fill_beyond_the_cap_and_cancels_the_rest() -> None:
    algo = Iceberg(spec("1", side=Side.SELL, limit_price=Price("99"), max_slippage_bps=D("5")),
                   T0, show_quantity=Quantity("0.1"))
    child = submits(algo.step(T0, snap(T0, "100", "100.02")))[0]
    # sell bound: 100.01 x 0.9995 = 99.959995 rounded up: 99.96, tighter than the limit 99
    assert child.order.price == Price("99.96")
    assert child.order.time_in_force is TimeInForce.GTC
    intents = algo.on_report(report(child, OrderStatus.PARTIALLY_FILLED, "0.05", "99.9"))
    assert algo.status is AlgoStatus.STOPPED_SLIPPAGE
    assert intents == [CancelChild(child.child_id, "stopped_slippage")]
    assert algo.reason is not None
    assert "fill at 99.9" in algo.reason


def test_twap_expires_when_no_liquidity_and_fails_on_repeated_rejections() -> None:
    algo = Twap(spec("1", limit_price=Price("100")), T0, start_ns=T0, end_ns=T0 + 40 * S,
                slices=2)
    assert algo.step(T0, snap(T0, "100.5", "100.6")) == []  # ask above the limit: wait
    t = T0 + 60 * S
    assert algo.step(t, snap(t, "100.5", "100.6")) == []
    assert algo.status is AlgoStatus.EXPIRED
    assert algo.reason is not None
    rejected = Twap(spec("1"), T0, start_ns=T0, end_ns=T0 + 40 * S, slices=2)
    for k in range(3):
        child = submits(rejected.step(T0 + k, snap(T0 + k)))[0]
        rejected.on_report(report(child, OrderStatus.REJECTED, "0"))
    assert rejected.status is AlgoStatus.FAILED


def test_remainder_below_the_venue_minimum_completes_with_a_reason() -> None:
    algo = Twap(spec("0.1"), T0, start_ns=T0, end_ns=T0 + 10 * S, slices=1)
    child = submits(algo.step(T0, snap(T0)))[0]
    algo.on_report(report(child, OrderStatus.EXPIRED, "0.09999", "100"))
    assert algo.step(T0 + S, snap(T0 + S)) == []  # 0.00001 x 100 < 5 USDT
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.reason == "0.00001 left is below the venue's minimum order"


def test_checkpoint_restores_an_identical_algorithm() -> None:
    def make() -> Pov:
        return Pov(spec("2"), T0, rate=D("0.1"), min_child=Quantity("0.5"))
    algo = make()
    algo.step(T0, snap(T0, volume="100"))
    child = submits(algo.step(T0 + S, snap(T0 + S, volume="110")))[0]
    algo.on_report(report(child, OrderStatus.PARTIALLY_FILLED, "0.4", "100.02"))
    copy = make()
    copy.restore(json.loads(json.dumps(algo.checkpoint())))  # survives a JSON column
    assert copy.view() == algo.view()
    assert copy.checkpoint() == algo.checkpoint()
    with pytest.raises(Invalid):
        Twap(spec("1"), T0, start_ns=T0, end_ns=T0 + S, slices=1).restore(algo.checkpoint())


# -- iceberg ----------------------------------------------------------------------------

def test_iceberg_shows_a_piece_and_refills_on_fill() -> None:
    algo = Iceberg(spec("0.35", limit_price=Price("100")), T0, show_quantity=Quantity("0.1"))
    piece = submits(algo.step(T0, snap(T0)))[0]
    assert (piece.order.type, piece.order.price, piece.order.quantity) == (
        OrderType.LIMIT, Price("100"), Quantity("0.1"))
    assert algo.on_report(report(piece, OrderStatus.PARTIALLY_FILLED, "0.04", "100")) == []
    refill = submits(algo.on_report(report(piece, OrderStatus.FILLED, "0.1", "100")))
    assert refill[0].order.quantity == Quantity("0.1")
    assert algo.step(T0 + S, snap(T0 + S)) == []  # one piece at a time
    second = submits(fill_all(algo, refill, "100", T0 + S))
    assert second[0].order.quantity == Quantity("0.1")
    last = submits(fill_all(algo, second, "100", T0 + S))
    assert last[0].order.quantity == Quantity("0.05")
    fill_all(algo, last, "100", T0 + S)
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.filled == Quantity("0.35")


def test_iceberg_tail_below_the_minimum_rides_with_the_last_piece() -> None:
    algo = Iceberg(spec("0.20001", limit_price=Price("100")), T0,
                   show_quantity=Quantity("0.1"))
    piece = submits(algo.step(T0, snap(T0)))[0]
    last = submits(fill_all(algo, [piece], "100", T0))
    assert last[0].order.quantity == Quantity("0.10001")  # 0.00001 alone is 0.001 USDT


def test_iceberg_pause_and_resume_replace_the_resting_piece() -> None:
    algo = Iceberg(spec("1", limit_price=Price("100")), T0, show_quantity=Quantity("0.2"))
    piece = submits(algo.step(T0, snap(T0)))[0]
    assert algo.pause(T0 + S) == [CancelChild(piece.child_id, "paused")]
    algo.on_report(report(piece, OrderStatus.CANCELLED, "0.05", "100"))
    algo.resume(T0 + 2 * S)
    again = submits(algo.step(T0 + 2 * S, snap(T0 + 2 * S)))
    assert again[0].order.quantity == Quantity("0.2")
    assert again[0].child_id == "a1-2"
    with pytest.raises(Invalid) as info:
        Iceberg(spec("1"), T0, show_quantity=Quantity("0.2"))
    assert info.value.field == "limit_price"


# -- POV --------------------------------------------------------------------------------

def test_pov_follows_observed_volume_between_min_and_max_child() -> None:
    algo = Pov(spec("5"), T0, rate=D("0.1"), min_child=Quantity("0.5"),
               max_child=Quantity("2"))
    assert algo.step(T0, snap(T0, volume="1000")) == []  # origin
    first = submits(algo.step(T0 + S, snap(T0 + S, volume="1010")))
    assert first[0].order.quantity == Quantity("1")
    fill_all(algo, first, "100.02", T0 + S)
    assert algo.step(T0 + 2 * S, snap(T0 + 2 * S, volume="1013")) == []  # 0.3 < min
    second = submits(algo.step(T0 + 3 * S, snap(T0 + 3 * S, volume="1015")))
    assert second[0].order.quantity == Quantity("0.5")
    fill_all(algo, second, "100.02", T0 + 3 * S)
    burst = submits(algo.step(T0 + 4 * S, snap(T0 + 4 * S, volume="1100")))
    assert burst[0].order.quantity == Quantity("2")  # 8.5 - 1.5 behind, capped
    fill_all(algo, burst, "100.02", T0 + 4 * S)
    tail = submits(algo.step(T0 + 5 * S, snap(T0 + 5 * S, volume="1100")))
    assert tail[0].order.quantity == Quantity("1.5")  # the rest, under the target
    fill_all(algo, tail, "100.02", T0 + 5 * S)
    assert algo.status is AlgoStatus.COMPLETED


@pytest.mark.parametrize(("field", "kw"), [
    ("rate", {"rate": D("0.6"), "min_child": Quantity("0.1")}),
    ("min_child", {"rate": D("0.1"), "min_child": Quantity("0.000001")}),
    ("max_child", {"rate": D("0.1"), "min_child": Quantity("1"), "max_child": Quantity("0.5")}),
])
def test_pov_bad_parameters_name_their_field(field: str, kw: dict[str, object]) -> None:
    with pytest.raises(Invalid) as info:
        Pov(spec("5"), T0, **kw)  # type: ignore[arg-type]
    assert info.value.field == field


def test_parent_spec_rejects_off_lot_and_long_ids() -> None:
    with pytest.raises(Invalid) as info:
        spec("0.000001")
    assert info.value.field == "quantity"
    with pytest.raises(Invalid) as info:
        ParentSpec("x" * 29, SPOT, Side.BUY, Quantity("1"))
    assert info.value.field == "algo_id"
    with pytest.raises(Invalid) as info:
        spec("1", limit_price=Price("100.001"))
    assert info.value.field == "limit_price"


def test_pov_rebases_when_the_volume_counter_restarts() -> None:
    algo = Pov(spec("5"), T0, rate=D("0.1"), min_child=Quantity("0.5"))
    algo.step(T0, snap(T0, volume="1000"))
    fill_all(algo, algo.step(T0 + S, snap(T0 + S, volume="1010")), "100.02", T0 + S)
    state = algo.checkpoint()
    restarted = Pov(spec("5"), T0, rate=D("0.1"), min_child=Quantity("0.5"))
    restarted.restore(state)
    assert restarted.step(T0 + 2 * S, snap(T0 + 2 * S, volume="3")) == []  # re-based
    child = submits(restarted.step(T0 + 3 * S, snap(T0 + 3 * S, volume="8")))
    assert restarted.observed == Quantity("15")
    assert child[0].order.quantity == Quantity("0.5")


def test_wake_at_is_the_next_slice_shifted_by_pauses() -> None:
    algo = Twap(spec("1"), T0, start_ns=T0, end_ns=T0 + 240 * S, slices=4)
    assert algo.wake_at_ns(T0 - S) == T0
    assert algo.wake_at_ns(T0) == T0 + 60 * S
    algo.pause(T0 + 10 * S)
    assert algo.wake_at_ns(T0 + 20 * S) is None
    algo.resume(T0 + 40 * S)
    assert algo.wake_at_ns(T0 + 40 * S) == T0 + 90 * S
    assert algo.wake_at_ns(T0 + 300 * S) == T0 + 330 * S  # end + one slice of grace
