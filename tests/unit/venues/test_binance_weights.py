"""Request weights and the client's weight budget."""

from __future__ import annotations

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.weights import WeightTracker, request_weight

S = 1_000_000_000


def test_documented_weights() -> None:
    assert request_weight(BinanceMarket.SPOT, "depth", 100) == 5
    assert request_weight(BinanceMarket.SPOT, "depth", 1000) == 50
    assert request_weight(BinanceMarket.SPOT, "depth", 5000) == 250
    assert request_weight(BinanceMarket.SPOT, "exchangeInfo") == 20
    assert request_weight(BinanceMarket.USDM, "depth", 1000) == 20
    assert request_weight(BinanceMarket.USDM, "klines", 1500) == 10
    assert request_weight(BinanceMarket.USDM, "ping") == 1


def test_tracker_waits_for_next_window_and_honours_bans() -> None:
    tracker = WeightTracker(limit=100, window_s=60.0, headroom=0.9)
    now = 600 * S + 15 * S  # 15 s into a minute
    assert tracker.observe({"x-mbx-used-weight-1m": "85"}, now) == 85
    assert tracker.wait_s(5, now) == 0
    assert tracker.wait_s(6, now) == 45.0  # 91 > 90: wait for the next minute
    assert tracker.used(now + 50 * S) == 0  # a new window
    tracker.ban(120, now)
    assert tracker.banned(now + 119 * S)
    assert tracker.wait_s(1, now) == 120.0
    assert not tracker.banned(now + 121 * S)
    assert tracker.observe({}, now) is None
