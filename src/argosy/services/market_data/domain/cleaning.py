"""The service's own guards on the live stream, behind the connector's.

The connector already delivers each trade id once and in order; these guards hold the same
promise at the service boundary, whatever the source (a ccxt venue with string ids, a
restart that re-delivers what is stored, a connector bug), and add what a connector
cannot judge alone:
- `TradeGuard`: duplicates and out-of-order trades are rejected; a forward jump in
  numeric ids is accepted but reported as the id range that is missing;
- `OutlierFilter`: a trade far from the market is rejected with the reason. The reference
  is the mid of a fresh top of book, else the median of the recent accepted trades (a
  rolling band); the median ignores the outliers themselves, which never enter it;
- `crossed`: a quote or book whose best bid is at or above its best ask.
Floats are fine here: these are screens, not amounts.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "GuardVerdict",
    "OutlierFilter",
    "Reject",
    "TradeGuard",
    "crossed",
]


class Reject(StrEnum):
    DUPLICATE = "duplicate"
    OUT_OF_ORDER = "out_of_order"
    OUTLIER = "outlier"
    CROSSED_QUOTE = "crossed_quote"
    CROSSED_BOOK = "crossed_book"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    reject: Reject | None = None
    missing_from: int = 0  # > 0: ids missing_from..missing_to were never seen
    missing_to: int = 0

    @property
    def accepted(self) -> bool:
        return self.reject is None


_OK = GuardVerdict()
_DUP = GuardVerdict(Reject.DUPLICATE)
_LATE = GuardVerdict(Reject.OUT_OF_ORDER)


class TradeGuard:
    """Per key (instrument and stream): numeric ids strictly increasing, others unique."""

    __slots__ = ("_last", "_last_ts", "_recent", "_window")

    def __init__(self, window: int = 20_000) -> None:
        self._last: dict[str, int] = {}
        self._last_ts: dict[str, int] = {}
        self._recent: dict[str, tuple[deque[str], set[str]]] = {}
        self._window = window

    def last_id(self, key: str) -> int | None:
        return self._last.get(key)

    def seed(self, key: str, last_id: int) -> None:
        """Continue after what storage already holds (a restart is then a visible gap)."""
        if last_id > self._last.get(key, -1):
            self._last[key] = last_id

    def check(self, key: str, trade_id: str, ts_ns: int) -> GuardVerdict:
        if trade_id.isdigit():
            ident = int(trade_id)
            last = self._last.get(key)
            if last is not None and ident <= last:
                return _DUP if ident == last else _LATE
            self._last[key] = ident
            if last is not None and ident > last + 1:
                return GuardVerdict(None, last + 1, ident - 1)
            return _OK
        return self._check_opaque(key, trade_id, ts_ns)

    def _check_opaque(self, key: str, trade_id: str, ts_ns: int) -> GuardVerdict:
        order, seen = self._recent.setdefault(key, (deque(), set()))
        if trade_id in seen:
            return _DUP
        if ts_ns < self._last_ts.get(key, 0):
            return _LATE
        if len(order) >= self._window:
            seen.discard(order.popleft())
        order.append(trade_id)
        seen.add(trade_id)
        self._last_ts[key] = ts_ns
        return _OK


def crossed(bid: float | None, ask: float | None) -> bool:
    return bid is not None and ask is not None and bid >= ask


class _Band:
    __slots__ = ("ask", "bid", "ordered", "prices", "quote_ts")

    def __init__(self, window: int) -> None:
        self.bid = self.ask = 0.0
        self.quote_ts: int | None = None
        self.prices: deque[float] = deque(maxlen=window)
        self.ordered: list[float] = []


class OutlierFilter:
    """Rejects a trade whose price is more than `band` (relative) away from the reference.

    `quote_max_age_ns` is compared on the venue's clock (trade event time against quote
    event time), so it behaves the same live and in replay. Until `min_samples` trades
    were accepted and no fresh quote exists, every trade passes: there is no market yet
    to be far from.
    """

    def __init__(self, band: float = 0.05, *, window: int = 200, min_samples: int = 20,
                 quote_max_age_ns: int = 5_000_000_000) -> None:
        self.band = band
        self.window = window
        self.min_samples = min_samples
        self.quote_max_age_ns = quote_max_age_ns
        self._bands: dict[str, _Band] = {}

    def _of(self, key: str) -> _Band:
        band = self._bands.get(key)
        if band is None:
            band = self._bands[key] = _Band(self.window)
        return band

    def quote(self, key: str, bid: float, ask: float, ts_ns: int) -> None:
        b = self._of(key)
        if bid > 0 and ask > 0 and bid < ask:
            b.bid, b.ask, b.quote_ts = bid, ask, ts_ns

    def reference(self, key: str, ts_ns: int) -> tuple[float, str] | None:
        b = self._of(key)
        if b.quote_ts is not None and abs(ts_ns - b.quote_ts) <= self.quote_max_age_ns:
            return (b.bid + b.ask) / 2, "mid"
        if len(b.ordered) >= self.min_samples:
            return b.ordered[len(b.ordered) // 2], "median of recent trades"
        return None

    def check(self, key: str, price: float, ts_ns: int) -> str | None:
        """None when the trade is accepted (and joins the band), else the reason."""
        ref = self.reference(key, ts_ns)
        if ref is not None:
            value, what = ref
            deviation = abs(price - value) / value
            if deviation > self.band:
                return (f"price {price:g} is {deviation:.2%} from the {what} {value:g} "
                        f"(band {self.band:.2%})")
        self._accept(key, price)
        return None

    def _accept(self, key: str, price: float) -> None:
        b = self._of(key)
        if len(b.prices) == b.prices.maxlen:
            old = b.prices[0]
            del b.ordered[bisect_left(b.ordered, old)]
        b.prices.append(price)
        insort(b.ordered, price)
