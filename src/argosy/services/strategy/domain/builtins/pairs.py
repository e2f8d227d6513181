"""Pairs trading on the spread of two instruments' log prices.

The spread is log(A) - beta x log(B) with beta estimated by least squares over the last
`window` aligned bars (both instruments' bars with the same open time); its z-score against
the same window decides: above `entry_z` the spread is rich, so sell A and buy B; below
-`entry_z` buy A and sell B; back inside `exit_z` both legs are closed. Each leg is worth
`notional` of the quote asset. Selling a leg short needs perpetual instruments
(`BTC-USD-PERP.ftx`); on spot accounts a short leg is rejected by the venue and reported
through `on_order`, and the strategy trades only the long leg.
"""

from __future__ import annotations

import math
from collections import deque
from decimal import Decimal

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar
from argosy.services.strategy.domain.params import Param
from argosy.services.strategy.domain.strategy import Strategy

__all__ = ["PairsSpread", "hedge_ratio"]


def hedge_ratio(a: list[float], b: list[float]) -> float:
    """Least-squares slope of a on b (beta of log prices)."""
    n = len(a)
    mean_a, mean_b = sum(a) / n, sum(b) / n
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    var = sum((y - mean_b) ** 2 for y in b)
    return cov / var if var else 1.0


class PairsSpread(Strategy):
    """Mean reversion of the log-price spread of two instruments (z-score entries/exits)."""

    window = Param(60, low=5, high=10_000, doc="aligned bars in the beta and z-score window")
    entry_z = Param(2.0, low=0.1, high=10.0, doc="open when |z| exceeds this")
    exit_z = Param(0.5, low=0.0, high=10.0, doc="close when |z| falls below this")
    notional = Param(1000.0, low=0.0, high=1e12, doc="quote asset per leg")

    def validate(self) -> None:
        if self.exit_z >= self.entry_z:
            raise Invalid("exit_z must be below entry_z", field="params.exit_z")

    def on_start(self) -> None:
        ids = sorted(self.ctx.instruments, key=str)
        if len(ids) != 2:
            raise Invalid(f"pairs_spread trades exactly two instruments, got {len(ids)}",
                          field="instruments")
        self.a, self.b = ids
        self._pending: dict[int, dict[InstrumentId, Decimal]] = {}
        self._la: deque[float] = deque(maxlen=self.window)
        self._lb: deque[float] = deque(maxlen=self.window)
        self.state = 0  # +1 long A / short B, -1 the opposite

    def on_bar(self, bar: Bar) -> None:
        if bar.instrument_id not in (self.a, self.b):
            return
        slot = self._pending.setdefault(bar.ts_open_ns, {})
        slot[bar.instrument_id] = bar.close.value
        if len(slot) < 2:
            return
        for ts in [t for t in self._pending if t <= bar.ts_open_ns]:
            del self._pending[ts]
        pa, pb = slot[self.a], slot[self.b]
        self._la.append(math.log(pa))
        self._lb.append(math.log(pb))
        if len(self._la) < self.window:
            return
        la, lb = list(self._la), list(self._lb)
        beta = hedge_ratio(la, lb)
        spread = [x - beta * y for x, y in zip(la, lb, strict=True)]
        mean = sum(spread) / len(spread)
        sd = math.sqrt(sum((s - mean) ** 2 for s in spread) / len(spread))
        if not sd:
            return
        z = (spread[-1] - mean) / sd
        self.signal("pairs.z", z)
        if self.state == 0 and abs(z) > self.entry_z:
            self.state = -1 if z > 0 else 1
            self._leg(self.a, pa, self.state)
            self._leg(self.b, pb, -self.state)
        elif self.state != 0 and abs(z) < self.exit_z:
            self.state = 0
            self.close_position(self.a)
            self.close_position(self.b)

    def _leg(self, instrument_id: InstrumentId, price: Decimal, direction: int) -> None:
        quantity = Decimal(str(self.notional)) / price
        if direction > 0:
            self.buy(instrument_id, quantity)
        else:
            self.sell(instrument_id, quantity)
