"""Bars built from trades, so bar strategies also run in trade and book mode.

A bar is emitted when the first trade of a later interval arrives (that is when a live
aggregator knows the bar is complete); intervals without trades produce no bar.
"""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar, Interval, TradeTick
from argosy.kernel.money import MONEY_CONTEXT, Price, Quantity

__all__ = ["BarBuilder"]


class BarBuilder:
    __slots__ = ("_bar", "instrument_id", "interval")

    def __init__(self, instrument_id: InstrumentId, interval: Interval) -> None:
        self.instrument_id, self.interval = instrument_id, interval
        self._bar: list[Decimal] | None = None  # open, high, low, close, volume, ts_open

    def update(self, trade: TradeTick) -> Bar | None:
        """Add a trade; returns the previous bar when this trade starts a new one."""
        ts_open = self.interval.floor_ns(trade.ts_recv_ns)
        price, qty = trade.price.value, trade.quantity.value
        current = self._bar
        done = None
        if current is not None and int(current[5]) != ts_open:
            done = self._emit(current)
            current = None
        if current is None:
            self._bar = [price, price, price, price, qty, Decimal(ts_open)]
            return done
        if price > current[1]:
            current[1] = price
        if price < current[2]:
            current[2] = price
        current[3] = price
        current[4] = MONEY_CONTEXT.add(current[4], qty)
        return done

    def flush(self) -> Bar | None:
        current, self._bar = self._bar, None
        return self._emit(current) if current is not None else None

    def _emit(self, b: list[Decimal]) -> Bar:
        ts = int(b[5])
        return Bar(self.instrument_id, self.interval, Price(b[0]), Price(b[1]), Price(b[2]),
                   Price(b[3]), Quantity(b[4]), ts, ts + self.interval.ns)
