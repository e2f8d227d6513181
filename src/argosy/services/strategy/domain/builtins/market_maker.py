"""A simple two-sided market maker with an inventory limit.

It keeps one bid and one ask around the mid (best bid/ask of the L2 book; the last trade
or bar close without a book), `half_spread_bps` away, each of `quantity` base units. The
quotes are replaced only when the mid has moved more than `requote_bps` (replacing on
every book update would lose the queue position that makes maker fills possible). The
bid is withdrawn at `max_inventory`, the ask while the strategy holds nothing (spot).
Quotes are post-only: a quote that would take liquidity is refused, never filled as taker.
Inventory skew: the quotes shift against the position by `skew_bps` per unit of quantity
held, so a long maker sells more eagerly than it buys.
"""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar, BookDelta, TradeTick
from argosy.kernel.orders import ExecutionReport, OrderType
from argosy.services.strategy.domain.params import Param
from argosy.services.strategy.domain.strategy import Strategy

__all__ = ["MarketMaker"]

_BPS = Decimal(10_000)


class MarketMaker(Strategy):
    """Two-sided quotes around the mid with an inventory limit and skew."""

    half_spread_bps = Param(5.0, low=0.0, high=1000.0, doc="quote distance from the mid")
    requote_bps = Param(2.0, low=0.0, high=1000.0, doc="mid move that replaces the quotes")
    quantity = Param(0.01, low=0.0, high=1e9, doc="base units per quote")
    max_inventory = Param(0.05, low=0.0, high=1e9, doc="no bid at or above this position")
    skew_bps = Param(0.0, low=0.0, high=1000.0, doc="quote shift per unit of inventory")

    def on_start(self) -> None:
        self._mid: dict[InstrumentId, Decimal] = {}
        self._quotes: dict[InstrumentId, list[str]] = {}

    def _requote(self, instrument_id: InstrumentId, mid: Decimal) -> None:
        last = self._mid.get(instrument_id)
        threshold = Decimal(str(self.requote_bps)) / _BPS
        if last is not None and abs(mid - last) <= last * threshold:
            return
        self._mid[instrument_id] = mid
        for coid in self._quotes.pop(instrument_id, []):
            self.cancel(coid)
        held = self.position(instrument_id)
        size = Decimal(str(self.quantity))
        centre = mid * (1 - held * Decimal(str(self.skew_bps)) / _BPS)
        half = Decimal(str(self.half_spread_bps)) / _BPS
        placed = []
        if held < Decimal(str(self.max_inventory)):
            placed.append(self.buy(instrument_id, size, price=centre * (1 - half),
                                   type_=OrderType.POST_ONLY))
        if held > 0:
            placed.append(self.sell(instrument_id, min(size, held), price=centre * (1 + half),
                                    type_=OrderType.POST_ONLY))
        self._quotes[instrument_id] = [c for c in placed if c is not None]

    def on_book(self, delta: BookDelta) -> None:
        bid, ask = self.best_bid_ask(delta.instrument_id)
        if bid is not None and ask is not None and bid < ask:
            self._requote(delta.instrument_id, (bid + ask) / 2)

    def on_trade(self, trade: TradeTick) -> None:
        bid, _ = self.best_bid_ask(trade.instrument_id)
        if bid is None:  # no book: the last trade is the mid
            self._requote(trade.instrument_id, trade.price.value)

    def on_bar(self, bar: Bar) -> None:
        bid, _ = self.best_bid_ask(bar.instrument_id)
        if bid is None:  # bars only: the close is the mid
            self._requote(bar.instrument_id, bar.close.value)

    def on_order(self, report: ExecutionReport) -> None:
        if report.status.value in ("filled", "cancelled", "rejected", "expired"):
            quotes = self._quotes.get(report.instrument_id)
            if quotes and report.client_order_id in quotes:
                quotes.remove(report.client_order_id)
                if report.status.value == "filled":
                    self._mid.pop(report.instrument_id, None)  # requote at the next update
