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

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from argosy.kernel.clock import NS_PER_SECOND
from argosy.venues.binance.markets import BinanceMarket

__all__ = [
    "ORDER_LIMITS",
    "OrderCountTracker",
    "OrderLimit",
    "SlidingBudget",
    "WeightTracker",
    "request_weight",
    "signed_weight",
]


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

    def charge(self, weight: int, now_ns: int) -> None:
        """Count a request about to be sent, before the server's header says so.

        Without it, calls sent together would each see the same headroom and could
        overrun it together; the next header replaces this estimate with the truth.
        """
        window = now_ns // self.window_ns
        if window != self._window:
            self._window, self._used = window, 0
        self._used += weight

    def ban(self, retry_after_s: float, now_ns: int) -> None:
        self.banned_until_ns = max(
            self.banned_until_ns, now_ns + int(retry_after_s * NS_PER_SECOND)
        )

    def banned(self, now_ns: int) -> bool:
        return now_ns < self.banned_until_ns


# --- signed endpoints (account and trading) -----------------------------------------------
# Spot (docs 2026-11): order POST/DELETE 1, order GET 4, openOrders 6 per symbol / 80 all,
# myTrades 20, account 20, userDataStream 2. USD-M: order POST 0 (orders count instead),
# DELETE/GET 1, openOrders 1 / 40, userTrades 5, balance 5, positionRisk 5, listenKey 1.
_SIGNED_SPOT = {("GET", "order"): 4, ("GET", "openOrders"): 6, ("GET", "myTrades"): 20,
                ("GET", "account"): 20, ("POST", "userDataStream"): 2,
                ("PUT", "userDataStream"): 2, ("DELETE", "userDataStream"): 2}
_SIGNED_USDM = {("POST", "order"): 0, ("GET", "openOrders"): 1, ("GET", "userTrades"): 5,
                ("GET", "balance"): 5, ("GET", "positionRisk"): 5, ("GET", "account"): 5}


def signed_weight(market: BinanceMarket, method: str, endpoint: str, has_symbol: bool = True
                  ) -> int:
    """IP weight of a signed call (`endpoint` is the last path segment)."""
    if endpoint == "openOrders" and not has_symbol:
        return 80 if market is BinanceMarket.SPOT else 40
    table = _SIGNED_SPOT if market is BinanceMarket.SPOT else _SIGNED_USDM
    return table.get((method.upper(), endpoint), 1)


@dataclass(frozen=True, slots=True)
class OrderLimit:
    """One ORDERS rate limit: `limit` new orders per `window_s`, reported in `header`."""

    header: str  # lower-case, e.g. "x-mbx-order-count-10s"
    window_s: float
    limit: int


ORDER_LIMITS: dict[BinanceMarket, tuple[OrderLimit, ...]] = {
    BinanceMarket.SPOT: (OrderLimit("x-mbx-order-count-10s", 10.0, 50),
                         OrderLimit("x-mbx-order-count-1d", 86_400.0, 160_000)),
    BinanceMarket.USDM: (OrderLimit("x-mbx-order-count-10s", 10.0, 300),
                         OrderLimit("x-mbx-order-count-1m", 60.0, 1200)),
}


class SlidingBudget:
    """Our own sends: at most `limit * headroom` weight in any `window_s + guard_s`.

    Binance counts in fixed windows by the time it processes a request, which is later
    than the time we sent it by the network and queueing delay. Sends spaced so that no
    sliding span of `window + guard` holds more than the cap cannot put more than the cap
    into any fixed window whose requests were delayed by less than `guard`, however the
    windows line up; counting fixed windows on our side cannot promise that.
    """

    __slots__ = ("_sent", "_total", "cap", "window_ns")

    def __init__(self, limit: int, window_s: float, headroom: float = 0.9,
                 guard_s: float = 0.25) -> None:
        self.cap = max(1, int(limit * headroom))
        self.window_ns = int((window_s + guard_s) * NS_PER_SECOND)
        self._sent: deque[tuple[int, int]] = deque()
        self._total = 0

    def _trim(self, now_ns: int) -> None:
        while self._sent and now_ns - self._sent[0][0] >= self.window_ns:
            self._total -= self._sent.popleft()[1]

    def used(self, now_ns: int) -> int:
        self._trim(now_ns)
        return self._total

    def wait_s(self, weight: int, now_ns: int) -> float:
        self._trim(now_ns)
        excess = self._total + weight - self.cap
        if excess <= 0:
            return 0.0
        for stamp, sent in self._sent:  # the oldest sends leave the span first
            excess -= sent
            if excess <= 0:
                return (stamp + self.window_ns - now_ns) / NS_PER_SECOND
        return self.window_ns / NS_PER_SECOND  # heavier than the cap: one full span

    def charge(self, weight: int, now_ns: int) -> None:
        self._sent.append((now_ns, weight))
        self._total += weight


class OrderCountTracker:
    """The account's ORDERS limits: our own new orders, and what the server reports.

    Binance counts every new order against each interval and says where the account
    stands in `X-MBX-ORDER-COUNT-<interval>`. A new order waits until it fits our sliding
    budget of each interval and the server's count (which includes other clients of the
    account, and any ban after -1015).
    """

    __slots__ = ("budgets", "trackers")

    def __init__(self, limits: tuple[OrderLimit, ...], headroom: float = 0.9,
                 guard_s: float = 0.25) -> None:
        self.trackers = {lim.header: WeightTracker(lim.limit, lim.window_s, headroom)
                         for lim in limits}
        self.budgets = {lim.header: SlidingBudget(lim.limit, lim.window_s, headroom, guard_s)
                        for lim in limits}

    def observe(self, headers: Mapping[str, str], now_ns: int) -> None:
        for name, tracker in self.trackers.items():
            value = headers.get(name)
            if value is not None and value.strip().isdigit():
                tracker.observe({"x-mbx-used-weight-1m": value}, now_ns)

    def wait_s(self, now_ns: int) -> float:
        waits = [t.wait_s(1, now_ns) for t in self.trackers.values()]
        waits += [b.wait_s(1, now_ns) for b in self.budgets.values()]
        return max(waits, default=0.0)

    def charge(self, now_ns: int) -> None:
        for budget in self.budgets.values():
            budget.charge(1, now_ns)

    def used(self, now_ns: int) -> dict[str, int]:
        return {name: t.used(now_ns) for name, t in self.trackers.items()}
