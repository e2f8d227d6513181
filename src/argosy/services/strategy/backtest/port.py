"""The backtest's `OrderPort`: orders go to the paper venue, synchronously.

Reports are queued, not delivered from inside the venue, and handed to the strategy once
the venue call that produced them has returned, so a strategy that places an order from
`on_fill` never re-enters the matching engine half-way through a fill.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import Decimal

from argosy.kernel.clock import SimClock
from argosy.kernel.errors import VenueRejected
from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.kernel.money import Quantity
from argosy.kernel.orders import ExecutionReport, OrderRequest, OrderStatus
from argosy.services.strategy.domain.strategy import floor_to_step
from argosy.venues.paper import PaperVenue

__all__ = ["BacktestPort"]

_ZERO = Decimal(0)
_ALL_IN_FACTOR = Decimal(2)  # asked at the signal, sized by the venue at the fill


class BacktestPort:
    def __init__(self, venue: PaperVenue, clock: SimClock, *, max_signals: int = 100_000
                 ) -> None:
        self.venue, self.clock = venue, clock
        self.reports: list[ExecutionReport] = []
        self.signals: list[tuple[int, str, float]] = []
        self.rejections = 0
        self._max_signals = max_signals
        venue.add_listener(self.reports.append)

    def submit(self, order: OrderRequest) -> None:
        try:
            self.venue.submit_now(order)
        except VenueRejected as error:
            self.rejections += 1
            self.reports.append(ExecutionReport(
                order.client_order_id, None, order.instrument_id, OrderStatus.REJECTED,
                Quantity(0), None, self.clock.now_ns(), reason=error.message))

    def cancel(self, instrument_id: InstrumentId, client_order_id: str) -> None:
        with contextlib.suppress(VenueRejected):  # already gone: its final report follows
            self.venue.cancel_now(instrument_id, client_order_id)

    def free(self, asset: str) -> Decimal:
        return self.venue.balance_detail().get(asset, (_ZERO, _ZERO))[0]

    def best_prices(self, instrument_id: InstrumentId) -> tuple[Decimal | None, Decimal | None]:
        bid, ask = self.venue.best_prices(instrument_id)
        return (bid.value if bid is not None else None, ask.value if ask is not None else None)

    def all_in_quantity(self, instrument: Instrument, reference: Decimal) -> Decimal:
        """More than the balance pays; `shrink_market_buys` fills what it does pay."""
        if reference <= 0:
            return _ZERO
        return floor_to_step(_ALL_IN_FACTOR * self.free(instrument.quote) / reference,
                             instrument.lot_size.value)

    def call_at(self, at_ns: int, callback: Callable[[int], object]) -> object:
        return self.clock.call_at(max(at_ns, self.clock.now_ns()), callback)

    def signal(self, name: str, value: float, ts_ns: int) -> None:
        if len(self.signals) < self._max_signals:
            self.signals.append((ts_ns, name, value))
