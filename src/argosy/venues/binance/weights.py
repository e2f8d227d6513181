"""REST request weights and the client's view of the IP's weight budget.

Binance answers every request with `X-MBX-USED-WEIGHT-1M`, the weight this IP has used in
the current minute; that header, not our own arithmetic, is the truth. The table below is
only used to predict whether the next request fits, so a client can wait for the next
window instead of collecting a 429, and after 429s an IP ban (418).

Weights (Binance docs, 2026-11): spot exchangeInfo 20, depth 5/25/50/250 by limit
(<=100/<=500/<=1000/<=5000), klines 2, aggTrades 4, trades and historicalTrades 25;
USD-M exchangeInfo 1, depth 2/5/10/20 (<=50/100/500/1000), klines 1/2/5/10 by limit
(<100/<500/<=1000/more), aggTrades 20, historicalTrades 20, trades 5; time and ping 1.
"""

from __future__ import annotations

from collections.abc import Mapping

from argosy.kernel.clock import NS_PER_SECOND
from argosy.venues.binance.markets import BinanceMarket

__all__ = ["WeightTracker", "request_weight"]


def _spot(endpoint: str, limit: int) -> int:
    if endpoint == "depth":
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    return {"exchangeInfo": 20, "klines": 2, "aggTrades": 4, "trades": 25,
            "historicalTrades": 25}.get(endpoint, 1)


def _usdm(endpoint: str, limit: int) -> int:
    if endpoint == "depth":
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    if endpoint == "klines":
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
    return {"exchangeInfo": 1, "aggTrades": 20, "trades": 5, "historicalTrades": 20}.get(
        endpoint, 1
    )


def request_weight(market: BinanceMarket, endpoint: str, limit: int = 500) -> int:
    """Documented weight of `GET <prefix>/<endpoint>` with `limit`."""
    return _spot(endpoint, limit) if market is BinanceMarket.SPOT else _usdm(endpoint, limit)


class WeightTracker:
    """Used weight per window as the server reported it, and any ban in force."""

    __slots__ = ("_used", "_window", "banned_until_ns", "headroom", "limit", "window_ns")

    def __init__(self, limit: int, window_s: float = 60.0, headroom: float = 0.9) -> None:
        self.limit = limit
        self.window_ns = int(window_s * NS_PER_SECOND)
        self.headroom = headroom
        self._used = 0
        self._window = -1
        self.banned_until_ns = 0

    def used(self, now_ns: int) -> int:
        """Weight used in the current window (0 once the window has turned)."""
        return self._used if now_ns // self.window_ns == self._window else 0

    def observe(self, headers: Mapping[str, str], now_ns: int) -> int | None:
        value = headers.get("x-mbx-used-weight-1m") or headers.get("x-mbx-used-weight")
        if value is None or not value.strip().isdigit():
            return None
        self._used = int(value)
        self._window = now_ns // self.window_ns
        return self._used

    def wait_s(self, weight: int, now_ns: int) -> float:
        """Seconds to wait before a request of `weight` fits the budget (0: go now)."""
        if now_ns < self.banned_until_ns:
            return (self.banned_until_ns - now_ns) / NS_PER_SECOND
        if self.used(now_ns) + weight <= self.limit * self.headroom:
            return 0.0
        next_window = (now_ns // self.window_ns + 1) * self.window_ns
        return (next_window - now_ns) / NS_PER_SECOND

    def ban(self, retry_after_s: float, now_ns: int) -> None:
        self.banned_until_ns = max(
            self.banned_until_ns, now_ns + int(retry_after_s * NS_PER_SECOND)
        )

    def banned(self, now_ns: int) -> bool:
        return now_ns < self.banned_until_ns
