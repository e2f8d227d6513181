"""One order's mutable life inside the matching engine.

The public `OrderRequest` is frozen; matching needs counters (filled, queue ahead, trailing
extreme) that change on every trade, so each live order gets one slotted record that is
mutated in place instead of re-allocated per event.
"""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.instruments import Instrument
from argosy.kernel.money import MONEY_CONTEXT, Price, Quantity
from argosy.kernel.orders import (
    ExecutionReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
    VenueFill,
)

__all__ = ["TRIGGERED_TYPES", "LiveOrder"]

_ZERO = Decimal(0)
TRIGGERED_TYPES = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT,
                             OrderType.TAKE_PROFIT_LIMIT, OrderType.TRAILING_STOP})
_LIMIT_AFTER_TRIGGER = frozenset({OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT})


class LiveOrder:
    """An order the venue knows; `ahead` is the estimated volume queued before it."""

    __slots__ = ("ahead", "arrived", "filled", "fills", "instrument", "is_buy", "key", "lock",
                 "notional", "price", "quantity", "reason", "request", "seq", "status",
                 "stop", "trail", "triggered", "ts_ns", "venue_order_id")

    def __init__(self, request: OrderRequest, instrument: Instrument, venue_order_id: str,
                 seq: int, ts_ns: int) -> None:
        self.request = request
        self.instrument = instrument
        self.key = str(request.instrument_id)
        self.venue_order_id = venue_order_id
        self.seq = seq  # time priority among our own orders
        self.ts_ns = ts_ns
        self.is_buy = request.side.value == "buy"
        self.price: Decimal | None = request.price.value if request.price is not None else None
        self.stop: Decimal | None = (request.stop_price.value
                                     if request.stop_price is not None else None)
        self.quantity: Decimal = request.quantity.value
        self.filled = _ZERO
        self.notional = _ZERO  # sum of price * qty of fills, for the average price
        self.ahead = _ZERO
        self.lock = _ZERO  # balance this order holds (quote for spot buys, base for sells)
        self.status = OrderStatus.ACCEPTED
        self.triggered = request.type not in TRIGGERED_TYPES
        self.trail: Decimal | None = None  # best price seen since a trailing stop arrived
        self.arrived = False
        self.reason: str | None = None
        self.fills: list[VenueFill] = []

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def type(self) -> OrderType:
        return self.request.type

    @property
    def tif(self) -> TimeInForce:
        return self.request.time_in_force

    @property
    def is_market(self) -> bool:
        """Takes whatever the book offers: market orders and triggered market-type stops."""
        kind = self.request.type
        return kind is OrderType.MARKET or (kind in TRIGGERED_TYPES
                                            and kind not in _LIMIT_AFTER_TRIGGER)

    @property
    def is_post_only(self) -> bool:
        return self.request.type is OrderType.POST_ONLY

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)

    def report(self, ts_ns: int, fills: tuple[VenueFill, ...] = ()) -> ExecutionReport:
        average = (Price(MONEY_CONTEXT.divide(self.notional, self.filled))
                   if self.filled else None)
        return ExecutionReport(
            client_order_id=self.request.client_order_id,
            venue_order_id=self.venue_order_id,
            instrument_id=self.request.instrument_id,
            status=self.status,
            filled_quantity=Quantity(self.filled),
            average_price=average,
            ts_ns=ts_ns,
            reason=self.reason,
            fills=fills,
        )
