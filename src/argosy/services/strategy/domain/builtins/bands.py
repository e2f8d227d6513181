"""Two bar strategies on one oscillator or band each, long only, all-in per instrument.

- `RsiMeanReversion`: buy when Wilder's RSI closes below `oversold`, sell when it closes
  above `overbought` (the classic 30/70 fade of an exhausted move).
- `BollingerBreakout`: buy when the close breaks above the upper band (a volatility
  expansion in the trend's direction), sell when it falls back below the middle band.
Orders are market orders decided on the close, filled at the next open in bar mode.
"""

from __future__ import annotations

from argosy.kernel.errors import Invalid
from argosy.kernel.messages import Bar
from argosy.services.strategy.domain.builtins._long_only import LongOnly
from argosy.services.strategy.domain.indicators import RSI, Bollinger
from argosy.services.strategy.domain.params import Param

__all__ = ["BollingerBreakout", "RsiMeanReversion"]


class RsiMeanReversion(LongOnly):
    """RSI mean reversion: buy an oversold close, sell an overbought one (long only)."""

    period = Param(14, low=2, high=500, doc="RSI period (Wilder smoothing)")
    oversold = Param(30.0, low=0.0, high=100.0, doc="buy when RSI closes below this")
    overbought = Param(70.0, low=0.0, high=100.0, doc="sell when RSI closes above this")

    def validate(self) -> None:
        if self.oversold >= self.overbought:
            raise Invalid("oversold must be below overbought", field="params.oversold")

    def on_start(self) -> None:
        self._rsi = {i: RSI(self.period) for i in self.ctx.instruments}

    def on_bar(self, bar: Bar) -> None:
        rsi = self._rsi.get(bar.instrument_id)
        if rsi is None:
            return
        value = rsi.update(float(bar.close.value))
        if value is None:
            return
        self.signal(f"rsi.{bar.instrument_id}", value)
        held = self.position(bar.instrument_id)
        if value < self.oversold and held <= 0:
            self.enter(bar.instrument_id, bar.close.value)
        elif value > self.overbought and held > 0:
            self.sell(bar.instrument_id, held)


class BollingerBreakout(LongOnly):
    """Bollinger breakout: buy a close above the upper band, exit below the middle band."""

    period = Param(20, low=2, high=1000, doc="bars in the moving average and deviation")
    width = Param(2.0, low=0.1, high=10.0, doc="band half-width in standard deviations")

    def on_start(self) -> None:
        self._bands = {i: Bollinger(self.period, self.width, self.width)
                       for i in self.ctx.instruments}

    def on_bar(self, bar: Bar) -> None:
        bands = self._bands.get(bar.instrument_id)
        if bands is None:
            return
        close = float(bar.close.value)
        value = bands.update(close)
        if value is None:
            return
        held = self.position(bar.instrument_id)
        if close > value.upper and held <= 0:
            self.enter(bar.instrument_id, bar.close.value)
        elif close < value.middle and held > 0:
            self.sell(bar.instrument_id, held)
