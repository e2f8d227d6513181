"""Order-count and weight budgets of the signed client (pure trackers)."""

from __future__ import annotations

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.weights import (
    ORDER_LIMITS,
    OrderCountTracker,
    OrderLimit,
    SlidingBudget,
    WeightTracker,
    signed_weight,
)

S = 1_000_000_000


def test_documented_signed_weights() -> None:
    assert signed_weight(BinanceMarket.SPOT, "POST", "order") == 1
    assert signed_weight(BinanceMarket.SPOT, "GET", "order") == 4
    assert signed_weight(BinanceMarket.SPOT, "GET", "openOrders", has_symbol=False) == 80
    assert signed_weight(BinanceMarket.SPOT, "GET", "account") == 20
    assert signed_weight(BinanceMarket.USDM, "POST", "order") == 0
    assert signed_weight(BinanceMarket.USDM, "GET", "openOrders", has_symbol=False) == 40
    assert signed_weight(BinanceMarket.USDM, "GET", "positionRisk") == 5
    assert [lim.limit for lim in ORDER_LIMITS[BinanceMarket.SPOT]] == [50, 160_000]


def test_local_charges_hold_until_the_window_turns() -> None:
    tracker = WeightTracker(limit=10, window_s=1.0, headroom=1.0)
    now = 100 * S
    for _ in range(10):
        assert tracker.wait_s(1, now) == 0
        tracker.charge(1, now)
    assert tracker.wait_s(1, now) == 1.0
    assert tracker.wait_s(1, now + S) == 0


def test_sliding_budget_caps_every_span_including_the_guard() -> None:
    budget = SlidingBudget(limit=10, window_s=1.0, headroom=0.9, guard_s=0.25)
    assert budget.cap == 9
    now = 100 * S
    for i in range(9):
        assert budget.wait_s(1, now + i * S // 100) == 0
        budget.charge(1, now + i * S // 100)
    # the first send leaves the 1.25 s span at now + 1.25 s
    assert budget.wait_s(1, now + S) == 0.25
    assert budget.wait_s(3, now + S) == 0.27  # three must leave
    assert budget.wait_s(1, now + S + S // 4) == 0
    assert budget.used(now + 2 * S) == 0  # all gone after a full span


def test_order_counter_waits_for_the_fullest_interval() -> None:
    tracker = OrderCountTracker((OrderLimit("x-mbx-order-count-10s", 10.0, 5),
                                 OrderLimit("x-mbx-order-count-1d", 86_400.0, 100)),
                                headroom=1.0, guard_s=0.0)
    now = 86_400 * 10 * S + 3 * S  # 3 s into a 10 s window
    tracker.observe({"x-mbx-order-count-10s": "5", "x-mbx-order-count-1d": "7"}, now)
    assert tracker.used(now) == {"x-mbx-order-count-10s": 5, "x-mbx-order-count-1d": 7}
    assert tracker.wait_s(now) == 7.0
    assert tracker.wait_s(now + 7 * S) == 0
    for _ in range(5):  # our own sends count at once, before any header
        tracker.charge(now + 7 * S)
    assert tracker.wait_s(now + 7 * S) == 10.0
