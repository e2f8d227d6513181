"""The latest market prices trading knows: mark for unrealized PnL and market-order
checks. Fed by the market-data bus (book tops and trades) or the HTTP snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Marks", "Top"]


@dataclass(frozen=True, slots=True)
class Top:
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    ts_ns: int


class Marks:
    def __init__(self) -> None:
        self._tops: dict[str, Top] = {}

    def update(self, instrument: str, *, bid: Decimal | None = None, ask: Decimal | None = None,
               last: Decimal | None = None, ts_ns: int = 0) -> None:
        old = self._tops.get(instrument)
        self._tops[instrument] = Top(
            bid if bid is not None else (old.bid if old else None),
            ask if ask is not None else (old.ask if old else None),
            last if last is not None else (old.last if old else None),
            max(ts_ns, old.ts_ns if old else 0))

    def top(self, instrument: str) -> Top | None:
        return self._tops.get(instrument)

    def mark(self, instrument: str) -> Decimal | None:
        """Mid of the book when both sides are known, else the last trade."""
        top = self._tops.get(instrument)
        if top is None:
            return None
        if top.bid is not None and top.ask is not None:
            return (top.bid + top.ask) / 2
        return top.last

    def taker_price(self, instrument: str, buying: bool) -> Decimal | None:
        """What a market order would pay at the top: the ask to buy, the bid to sell."""
        top = self._tops.get(instrument)
        if top is None:
            return None
        side = top.ask if buying else top.bid
        return side if side is not None else self.mark(instrument)
