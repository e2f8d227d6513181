"""OHLCV bars from trades, incrementally and deterministically; kline reconciliation.

Why incremental here (and SQL rollups for history, see history.py): a live bar must be
published the moment it closes, and one update per trade is cheaper than any query. The
chain is 1s from trades, 1m from closed 1s bars, and 5m/15m/1h/4h/1d from closed 1m bars:
OHLCV merges exactly (first open, max high, min low, last close, summed volume in
Decimal), so a rolled-up bar equals the bar built from the same trades directly, and each
trade costs one update whatever the number of intervals. Bars open on the epoch grid in
UTC (`Interval.floor_ns`), close on event time: a bar is final when a trade or the
watermark (any later venue timestamp) passes its end. Intervals without trades have no
bar (Binance fills those with flat zero-volume klines; `reconcile` knows that).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from argosy.kernel.messages import Interval

__all__ = ["HIGHER", "BarChain", "Mismatch", "OpenBar", "reconcile"]

HIGHER = (Interval.M5, Interval.M15, Interval.H1, Interval.H4, Interval.D1)
_ZERO = Decimal(0)


@dataclass(slots=True)
class OpenBar:
    interval: Interval
    ts_open: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int

    @property
    def ts_close(self) -> int:
        return self.ts_open + self.interval.ns

    def merge(self, other: OpenBar) -> None:
        """Fold a later, shorter bar into this one."""
        if other.high > self.high:
            self.high = other.high
        if other.low < self.low:
            self.low = other.low
        self.close = other.close
        self.volume += other.volume
        self.trades += other.trades

    def as_interval(self, interval: Interval) -> OpenBar:
        return OpenBar(interval, interval.floor_ns(self.ts_open), self.open, self.high,
                       self.low, self.close, self.volume, self.trades)

    def copy(self) -> OpenBar:
        return OpenBar(self.interval, self.ts_open, self.open, self.high, self.low, self.close,
                       self.volume, self.trades)


Closed = list[OpenBar]


class BarChain:
    """The bars of one instrument being built; `add` and `advance` return closed bars."""

    __slots__ = ("_higher", "_m1", "_s1", "last_ts", "late")

    def __init__(self) -> None:
        self._s1: OpenBar | None = None
        self._m1: OpenBar | None = None
        self._higher: dict[Interval, OpenBar] = {}
        self.last_ts = 0
        self.late = 0

    def add(self, price: Decimal, qty: Decimal, ts_ns: int) -> Closed:
        if ts_ns < self.last_ts:
            # Venue trade times never go back; if one did, it is counted at the current
            # time rather than reopening a closed bar (`late` says how often).
            self.late += 1
            ts_ns = self.last_ts
        s1 = self._s1
        closed = self.advance(ts_ns) if s1 is not None and ts_ns >= s1.ts_close else []
        s1 = self._s1
        if s1 is None:
            bucket = ts_ns - ts_ns % 1_000_000_000
            self._s1 = OpenBar(Interval.S1, bucket, price, price, price, price, qty, 1)
        else:
            if price > s1.high:
                s1.high = price
            elif price < s1.low:
                s1.low = price
            s1.close = price
            s1.volume += qty
            s1.trades += 1
        self.last_ts = ts_ns
        return closed

    def advance(self, ts_ns: int) -> Closed:
        """Close every bar that ends at or before `ts_ns` (a venue watermark)."""
        closed: Closed = []
        if ts_ns > self.last_ts:
            self.last_ts = ts_ns
        if self._s1 is not None and ts_ns >= self._s1.ts_close:
            self._close_s1(closed)
        if self._m1 is not None and ts_ns >= self._m1.ts_close:
            self._close_m1(closed)
        for interval in HIGHER:
            bar = self._higher.get(interval)
            if bar is not None and ts_ns >= bar.ts_close:
                closed.append(self._higher.pop(interval))
        return closed

    def current(self, interval: Interval) -> OpenBar | None:
        """The bar still forming for `interval`, including what shorter bars hold."""
        parts: list[OpenBar] = []
        if interval is Interval.S1:
            return self._s1.copy() if self._s1 is not None else None
        if interval in self._higher:
            parts.append(self._higher[interval])
        if self._m1 is not None:
            parts.append(self._m1)
        if self._s1 is not None:
            parts.append(self._s1)
        start = None
        out: OpenBar | None = None
        for part in parts:
            bucket = interval.floor_ns(part.ts_open)
            if start is None:
                start = bucket
                out = part.as_interval(interval)
            elif bucket == start and out is not None:
                out.merge(part)
            else:  # a shorter bar already belongs to the next bar of `interval`
                start, out = bucket, part.as_interval(interval)
        return out

    def _close_s1(self, closed: Closed) -> None:
        s1 = self._s1
        assert s1 is not None
        self._s1 = None
        closed.append(s1)
        m1 = self._m1
        if m1 is not None and Interval.M1.floor_ns(s1.ts_open) != m1.ts_open:
            self._close_m1(closed)
            m1 = None
        if m1 is None:
            self._m1 = s1.as_interval(Interval.M1)
        else:
            m1.merge(s1)

    def _close_m1(self, closed: Closed) -> None:
        m1 = self._m1
        assert m1 is not None
        self._m1 = None
        closed.append(m1)
        for interval in HIGHER:
            bar = self._higher.get(interval)
            if bar is not None and interval.floor_ns(m1.ts_open) != bar.ts_open:
                closed.append(self._higher.pop(interval))
                bar = None
            if bar is None:
                self._higher[interval] = m1.as_interval(interval)
            else:
                bar.merge(m1)


@dataclass(frozen=True, slots=True)
class Mismatch:
    ts_open: int
    field: str  # open, high, low, close, volume, missing_here, missing_at_venue
    ours: str
    theirs: str


_FIELDS = ("open", "high", "low", "close", "volume")


def reconcile(
    ours: dict[int, tuple[Decimal, ...]], theirs: dict[int, tuple[Decimal, ...]]
) -> list[Mismatch]:
    """Bars built from trades against the venue's klines, both keyed by open time and
    holding (open, high, low, close, volume). A venue kline with zero volume and no bar of
    ours is not a mismatch: no trade happened in it."""
    out: list[Mismatch] = []
    for ts in sorted(set(ours) | set(theirs)):
        mine, venue = ours.get(ts), theirs.get(ts)
        if mine is None:
            assert venue is not None
            if venue[4] != _ZERO:
                out.append(Mismatch(ts, "missing_here", "", f"{venue[4]:f}"))
            continue
        if venue is None:
            out.append(Mismatch(ts, "missing_at_venue", f"{mine[4]:f}", ""))
            continue
        for name, a, b in zip(_FIELDS, mine, venue, strict=True):
            if a != b:
                out.append(Mismatch(ts, name, f"{a:f}", f"{b:f}"))
    return out
