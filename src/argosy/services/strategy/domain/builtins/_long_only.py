"""Entry sizing shared by the long-only bar strategies."""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.instruments import InstrumentId
from argosy.services.strategy.domain.strategy import Strategy

__all__ = ["LongOnly"]

_HEADROOM = Decimal("1.002")  # fee and a small move before the fill


class LongOnly(Strategy):
    """With one instrument an entry spends the whole free quote balance, sized at the fill
    (the peers' all-in rule); with several, each flat instrument gets an equal share."""

    def enter(self, instrument_id: InstrumentId, close: Decimal) -> None:
        if len(self.ctx.instruments) == 1:
            self.buy_all(instrument_id, close)
            return
        flat = sum(1 for i in self.ctx.instruments if self.position(i) <= 0)
        quote = self.ctx.instrument(instrument_id).quote
        self.buy(instrument_id, self.free(quote) / max(flat, 1) / (close * _HEADROOM))
