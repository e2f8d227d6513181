"""Moving-average crossovers, long only: the peers' benchmark strategy.

Decided on each bar's close: the fast average crossing above the slow one (`>` now, `<=`
on the previous bar) buys, crossing below (`<` now, `>=` before) sells the whole position.
A warm-up bar (either average not ready) is no signal. With one instrument the buy spends
the whole free quote balance, sized at the fill price (the rule of ../shared/bench-peers,
so the event-driven backtest reproduces the vectorized path and the peers); with several,
each flat instrument gets an equal share of the free balance.
"""

from __future__ import annotations

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar
from argosy.services.strategy.domain.builtins._long_only import LongOnly
from argosy.services.strategy.domain.indicators import EMA, SMA
from argosy.services.strategy.domain.params import Param

__all__ = ["EmaCrossover", "SmaCrossover"]


class _Crossover(LongOnly):
    fast = Param(10, low=1, high=1000, doc="bars in the fast average")
    slow = Param(30, low=2, high=5000, doc="bars in the slow average")

    def _average(self, period: int) -> SMA | EMA:
        raise NotImplementedError

    def validate(self) -> None:
        if self.fast >= self.slow:
            raise Invalid(f"fast ({self.fast}) must be shorter than slow ({self.slow})",
                          field="params.fast")

    def on_start(self) -> None:
        self._state: dict[InstrumentId, list[object]] = {
            i: [self._average(self.fast), self._average(self.slow), None, None]
            for i in self.ctx.instruments}

    def on_bar(self, bar: Bar) -> None:
        state = self._state.get(bar.instrument_id)
        if state is None:
            return
        fast_ma, slow_ma, prev_fast, prev_slow = state
        close = bar.close.value
        x = float(close)
        f = fast_ma.update(x)  # type: ignore[attr-defined]
        s = slow_ma.update(x)  # type: ignore[attr-defined]
        state[2], state[3] = f, s
        if f is None or s is None or prev_fast is None or prev_slow is None:
            return
        if f > s and prev_fast <= prev_slow:  # type: ignore[operator]
            if self.position(bar.instrument_id) <= 0:
                self.enter(bar.instrument_id, close)
        elif f < s and prev_fast >= prev_slow:  # type: ignore[operator]
            held = self.position(bar.instrument_id)
            if held > 0:
                self.sell(bar.instrument_id, held)


class SmaCrossover(_Crossover):
    """SMA(fast)/SMA(slow) crossover, long only, all-in: buy the cross up, sell the cross down.

    The benchmark strategy of ../shared/bench-peers (backtrader, vectorbt, NautilusTrader).
    """

    def _average(self, period: int) -> SMA:
        return SMA(period)


class EmaCrossover(_Crossover):
    """EMA(fast)/EMA(slow) crossover, long only, all-in (SMA-seeded EMAs, as TA-Lib)."""

    fast = Param(12, low=1, high=1000, doc="bars in the fast EMA")
    slow = Param(26, low=2, high=5000, doc="bars in the slow EMA")

    def _average(self, period: int) -> EMA:
        return EMA(period)
