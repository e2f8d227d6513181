"""What the trading engine needs from any venue it sends orders to.

The paper venue, the Binance adapter and the ccxt adapter implement this protocol, so the
engine's order handling, crash recovery and reconciliation are written once.

Errors are the kernel's venue errors, grouped by what the caller must do:
`VenueRetry` (nothing happened; safe to try again), `VenueReconcile` (the outcome is
unknown: the order becomes `submitted_unknown` until a query or the stream resolves it)
and `VenueRejected` (the venue refused; terminal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, OrderRequest, VenueFill

__all__ = ["ExecutionVenue", "VenuePosition"]


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A derivatives position as the venue reports it (flat positions are not listed)."""

    instrument_id: InstrumentId
    side: Side
    quantity: Quantity
    entry_price: Price | None
    leverage: int | None = None


class ExecutionVenue(Protocol):
    """An account at one venue. Implementations keep no state the venue does not have."""

    name: str

    async def submit(self, order: OrderRequest) -> ExecutionReport: ...

    async def cancel(self, instrument_id: InstrumentId, client_order_id: str
                     ) -> ExecutionReport: ...

    async def query(self, instrument_id: InstrumentId, client_order_id: str
                    ) -> ExecutionReport | None:
        """The order as the venue sees it; None when the venue says it does not exist."""
        ...

    async def open_orders(self, instrument_id: InstrumentId | None = None
                          ) -> list[ExecutionReport]: ...

    async def fills_since(self, instrument_id: InstrumentId, since_ns: int) -> list[VenueFill]: ...

    async def balances(self) -> Mapping[str, Quantity]: ...

    async def positions(self) -> list[VenuePosition]: ...

    def reports(self) -> AsyncIterator[ExecutionReport]:
        """Execution reports pushed by the venue (user-data stream, paper matching)."""
        ...
