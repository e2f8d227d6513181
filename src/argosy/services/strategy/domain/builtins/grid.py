"""A static grid: resting buys below the first price, each fill answered one step away.

On the first price seen (bar close, trade or mid) the grid places `levels` limit buys at
`step_bps` intervals below it, each worth `quote_per_level` of the quote asset. A filled
buy at p places a sell of the same size at p x (1 + step); a filled sell at q places a buy
back at q / (1 + step). Each completed pair earns one step minus fees, which is why a grid
likes ranges and suffers in trends (it ends holding the base asset as price falls).
"""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar, BookDelta, Side, TradeTick
from argosy.kernel.orders import VenueFill
from argosy.services.strategy.domain.params import Param
from argosy.services.strategy.domain.strategy import Strategy

__all__ = ["Grid"]

_BPS = Decimal(10_000)


class Grid(Strategy):
    """Static grid of limit orders around the first price; each fill is answered one step
    away (buy low, sell one step higher, repeat)."""

    levels = Param(5, low=1, high=100, doc="limit buys placed below the first price")
    step_bps = Param(50.0, low=1.0, high=5000.0, doc="distance between levels, basis points")
    quote_per_level = Param(1000.0, low=0.0, high=1e12, doc="quote asset per level")

    def on_start(self) -> None:
        self._placed: set[InstrumentId] = set()
        self._step = Decimal(str(self.step_bps)) / _BPS

    def _seed(self, instrument_id: InstrumentId, price: Decimal) -> None:
        if instrument_id in self._placed or instrument_id not in self.ctx.instruments:
            return
        self._placed.add(instrument_id)
        budget = Decimal(str(self.quote_per_level))
        level = price
        for _ in range(self.levels):
            level = level / (1 + self._step)
            self.buy(instrument_id, budget / level, price=level)

    def on_bar(self, bar: Bar) -> None:
        self._seed(bar.instrument_id, bar.close.value)

    def on_trade(self, trade: TradeTick) -> None:
        self._seed(trade.instrument_id, trade.price.value)

    def on_book(self, delta: BookDelta) -> None:
        if delta.instrument_id in self._placed:
            return
        bid, ask = self.best_bid_ask(delta.instrument_id)
        if bid is not None and ask is not None:
            self._seed(delta.instrument_id, (bid + ask) / 2)

    def on_fill(self, fill: VenueFill) -> None:
        price = fill.price.value
        if fill.side is Side.BUY:
            self.sell(fill.instrument_id, fill.quantity.value, price=price * (1 + self._step))
        else:
            self.buy(fill.instrument_id, fill.quantity.value, price=price / (1 + self._step))
