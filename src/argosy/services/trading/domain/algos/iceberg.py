"""Iceberg: rest a small visible piece at a limit, refill it each time it fills.

The book only ever shows `show_quantity` (a tail below the venue minimum rides with the
last piece instead of being stranded); when a piece is
fully filled the next one is sent at once from `on_report`, so the refill follows the fill
without waiting for the service's next tick. A piece cancelled by someone else (venue
expiry, manual cancel) is replaced on the next step. With a slippage cap the resting
price is clamped to the bound; the guard against the market running away does not apply
(a resting order cannot fill worse than its price), only the fill check does.
"""

from __future__ import annotations

from argosy.kernel.errors import Invalid
from argosy.kernel.money import Quantity
from argosy.services.trading.domain.algos._base import ParentAlgo
from argosy.services.trading.domain.algos._model import (
    ChildOrder,
    Intent,
    MarketSnapshot,
    ParentSpec,
)

__all__ = ["Iceberg"]


class Iceberg(ParentAlgo):
    kind = "iceberg"
    takes_liquidity = False

    def __init__(self, spec: ParentSpec, created_ns: int, *, show_quantity: Quantity
                 ) -> None:
        if spec.limit_price is None:
            raise Invalid("an iceberg needs a limit price", field="limit_price")
        instrument = spec.instrument
        if not show_quantity.is_multiple_of(instrument.lot_size) or \
                show_quantity < instrument.min_qty or show_quantity.is_zero():
            raise Invalid(f"show_quantity must be on the lot {instrument.lot_size} and at "
                          f"least {instrument.min_qty}", field="show_quantity")
        if show_quantity > spec.quantity:
            raise Invalid("show_quantity must not exceed the quantity",
                          field="show_quantity")
        if instrument.notional(spec.limit_price, show_quantity) < instrument.min_notional:
            raise Invalid(f"show_quantity at the limit is below the min notional "
                          f"{instrument.min_notional}", field="show_quantity")
        super().__init__(spec, created_ns)
        self.show_quantity = show_quantity
        self._last_market: MarketSnapshot | None = None

    def _plan(self, now_ns: int, market: MarketSnapshot) -> list[Intent]:
        self._last_market = market
        return self._refill(now_ns)

    def _after_report(self, child: ChildOrder, now_ns: int) -> list[Intent]:
        return self._refill(now_ns) if self._last_market is not None else []

    def _refill(self, now_ns: int) -> list[Intent]:
        if self.open_children() or self.uncommitted.is_zero():
            return []
        assert self._last_market is not None
        price = self.bound
        instrument, left = self.spec.instrument, self.uncommitted
        piece = min(self.show_quantity, left)
        tail = left - piece
        if price is not None and not tail.is_zero() and (
                tail < instrument.min_qty
                or instrument.notional(price, tail) < instrument.min_notional):
            piece = left  # a tail too small to send alone rides with this piece
        child = self._child(now_ns, piece, self._last_market,
                            f"iceberg piece {piece} of {left} left",
                            passive_price=price)
        return [] if child is None else [child]
