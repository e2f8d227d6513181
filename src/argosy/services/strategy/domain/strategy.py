"""The Strategy base class and the context it trades through.

One strategy object runs unchanged in a backtest and live: it sees market data through its
callbacks and acts only through `StrategyContext`, whose `OrderPort` is the paper venue in
a backtest and the trading service's HTTP API live (so live orders pass the same pre-trade
risk as manual ones). Time comes from an injected clock; order ids come from a counter;
nothing reads the wall clock or a global, so the same inputs give the same orders.

Orders are fire-and-forget: `buy`/`sell` return the client order id and the outcome comes
back through `on_order` (every report) and `on_fill` (each execution), in the order the
venue produced them, after the callback that placed them returns (no re-entrancy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar, Protocol

from argosy.kernel.clock import Clock
from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.kernel.messages import Bar, BookDelta, Side, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import (
    ExecutionReport,
    OrderRequest,
    OrderType,
    TimeInForce,
    VenueFill,
)
from argosy.services.strategy.domain.params import ParamSpec, declared, validate_params
from argosy.services.strategy.domain.portfolio import Portfolio

__all__ = ["OrderPort", "Strategy", "StrategyContext", "StrategyInfo", "floor_to_step"]

_ZERO = Decimal(0)


def floor_to_step(quantity: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of `step` not above `quantity`. Not `quantize(step)`: a venue's
    lot such as "0.00001000" or "0.5" is a step, not a number of decimals."""
    if quantity <= 0:
        return _ZERO
    return ((quantity / step).to_integral_value(rounding=ROUND_DOWN) * step).quantize(step)


class OrderPort(Protocol):
    """Where a strategy's orders go: the paper venue (backtest) or the trading service."""

    def submit(self, order: OrderRequest) -> None: ...

    def cancel(self, instrument_id: InstrumentId, client_order_id: str) -> None: ...

    def free(self, asset: str) -> Decimal:
        """The account's free balance of `asset` (what a new order may spend)."""
        ...

    def best_prices(self, instrument_id: InstrumentId) -> tuple[Decimal | None, Decimal | None]:
        """(best bid, best ask) of the book the orders meet; Nones without book data."""
        ...

    def all_in_quantity(self, instrument: Instrument, reference: Decimal) -> Decimal:
        """The quantity of a market buy meant to spend the whole free quote balance.

        The backtest asks for more and lets the venue size it at the fill price (the
        peers' rule); live sizes it at `reference` with a safety margin for the fee."""
        ...

    def call_at(self, at_ns: int, callback: Callable[[int], object]) -> object: ...

    def signal(self, name: str, value: float, ts_ns: int) -> None: ...


class StrategyInfo:
    """What the registry and GET /strategies show about a strategy class."""

    def __init__(self, name: str, cls: type[Strategy], source: str) -> None:
        self.name, self.cls, self.source = name, cls, source

    @property
    def params(self) -> list[ParamSpec]:
        return [p.spec() for p in declared(self.cls).values()]

    def as_dict(self) -> dict[str, Any]:
        doc = (self.cls.__doc__ or "").strip()
        return {"name": self.name, "summary": doc.splitlines()[0] if doc else "",
                "description": doc, "source": self.source,
                "params": [p.as_dict() for p in self.params]}


class StrategyContext:
    """The strategy's view of its account: instruments, positions, orders, time."""

    def __init__(self, instruments: Mapping[InstrumentId, Instrument], port: OrderPort,
                 clock: Clock, *, id_prefix: str = "s") -> None:
        self.instruments = dict(instruments)
        self.port = port
        self.clock = clock
        self.portfolio = Portfolio()
        self.open_orders: dict[str, OrderRequest] = {}
        self._prefix = id_prefix
        self._seq = 0
        self.last_price: dict[InstrumentId, Decimal] = {}

    def now_ns(self) -> int:
        return self.clock.now_ns()

    def instrument(self, instrument_id: InstrumentId) -> Instrument:
        found = self.instruments.get(instrument_id)
        if found is None:
            raise Invalid(f"{instrument_id} is not an instrument of this run",
                          field="instrument_id")
        return found

    def position(self, instrument_id: InstrumentId) -> Decimal:
        return self.portfolio.quantity(str(instrument_id))

    def next_id(self) -> str:
        self._seq += 1
        return f"{self._prefix}{self._seq}"

    def round_qty(self, instrument_id: InstrumentId, quantity: Decimal) -> Decimal:
        return floor_to_step(quantity, self.instrument(instrument_id).lot_size.value)

    def submit(self, instrument_id: InstrumentId, side: Side, quantity: Decimal, *,
               price: Decimal | None = None, type_: OrderType | None = None,
               tif: TimeInForce = TimeInForce.GTC, stop: Decimal | None = None,
               reduce_only: bool = False) -> str | None:
        """Place an order; None (nothing sent) when the quantity rounds to zero lots."""
        instrument = self.instrument(instrument_id)
        qty = self.round_qty(instrument_id, quantity)
        if qty < instrument.min_qty.value or qty == 0:
            return None
        order_type = type_ or (OrderType.MARKET if price is None else OrderType.LIMIT)
        px = None
        if price is not None:
            px = instrument.round_price(Price(price), "ROUND_DOWN" if side is Side.BUY
                                        else "ROUND_UP")
        order = OrderRequest(self.next_id(), instrument_id, side, order_type, Quantity(qty),
                             px, Price(stop) if stop is not None else None,
                             time_in_force=tif, reduce_only=reduce_only)
        self.open_orders[order.client_order_id] = order
        self.port.submit(order)
        return order.client_order_id

    def cancel(self, client_order_id: str) -> None:
        order = self.open_orders.get(client_order_id)
        if order is not None:
            self.port.cancel(order.instrument_id, client_order_id)

    def cancel_all(self, instrument_id: InstrumentId | None = None) -> None:
        for coid, order in list(self.open_orders.items()):
            if instrument_id is None or order.instrument_id == instrument_id:
                self.port.cancel(order.instrument_id, coid)

    def on_report(self, report: ExecutionReport) -> None:
        """Bookkeeping before the strategy sees a report: fills move positions."""
        for fill in report.fills:
            self.portfolio.apply(fill)
        if report.status.value in ("filled", "cancelled", "rejected", "expired"):
            self.open_orders.pop(report.client_order_id, None)


class Strategy:
    """Base class: override the callbacks you need; declare parameters with `Param`.

    `name` is the registry key (defaults to the class name in snake case by the registry).
    Callbacks run on the engine's thread and must not block; raising stops the strategy
    (backtest: the run ends `failed` with the traceback; live: the deployment stops).
    """

    name: ClassVar[str] = ""
    _param_values: dict[str, Any]
    ctx: StrategyContext

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self._param_values = validate_params(type(self), params)
        self.validate()

    def validate(self) -> None:
        """Checks across parameters (one parameter's range is checked by its `Param`);
        raise `Invalid` naming a parameter. Runs at construction, before any data."""

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._param_values)

    def bind(self, ctx: StrategyContext) -> None:
        self.ctx = ctx

    # -- callbacks -------------------------------------------------------------------

    def on_start(self) -> None:
        """Before the first event: create indicators, schedule timers."""

    def on_bar(self, bar: Bar) -> None:
        """A bar closed (its close time is now)."""

    def on_trade(self, trade: TradeTick) -> None:
        """A public trade."""

    def on_book(self, delta: BookDelta) -> None:
        """The L2 book changed; `best_bid_ask` reads its top."""

    def on_fill(self, fill: VenueFill) -> None:
        """One execution of one of this strategy's orders (positions already updated)."""

    def on_order(self, report: ExecutionReport) -> None:
        """Any state change of one of this strategy's orders."""

    def on_timer(self, ts_ns: int, name: str) -> None:
        """A timer set with `set_timer` is due."""

    def on_stop(self) -> None:
        """After the last event (or when a deployment is stopped)."""

    # -- what a strategy can do ------------------------------------------------------

    def buy(self, instrument_id: InstrumentId, quantity: Decimal,
            price: Decimal | None = None, **kw: Any) -> str | None:
        return self.ctx.submit(instrument_id, Side.BUY, quantity, price=price, **kw)

    def sell(self, instrument_id: InstrumentId, quantity: Decimal,
             price: Decimal | None = None, **kw: Any) -> str | None:
        return self.ctx.submit(instrument_id, Side.SELL, quantity, price=price, **kw)

    def buy_all(self, instrument_id: InstrumentId, reference: Decimal) -> str | None:
        """Market buy spending the whole free quote balance (sized at the fill)."""
        instrument = self.ctx.instrument(instrument_id)
        quantity = self.ctx.port.all_in_quantity(instrument, reference)
        return self.buy(instrument_id, quantity)

    def close_position(self, instrument_id: InstrumentId) -> str | None:
        held = self.position(instrument_id)
        if held > 0:
            return self.sell(instrument_id, held)
        if held < 0:
            return self.buy(instrument_id, -held)
        return None

    def cancel(self, client_order_id: str) -> None:
        self.ctx.cancel(client_order_id)

    def position(self, instrument_id: InstrumentId) -> Decimal:
        return self.ctx.position(instrument_id)

    def free(self, asset: str) -> Decimal:
        return self.ctx.port.free(asset)

    def best_bid_ask(self, instrument_id: InstrumentId
                     ) -> tuple[Decimal | None, Decimal | None]:
        return self.ctx.port.best_prices(instrument_id)

    def now_ns(self) -> int:
        return self.ctx.now_ns()

    def set_timer(self, at_ns: int, name: str = "timer") -> None:
        self.ctx.port.call_at(at_ns, lambda ts: self.on_timer(ts, name))

    def signal(self, name: str, value: float) -> None:
        """Publish a signal (live: `strategy.signal.<deployment>`; backtest: recorded)."""
        self.ctx.port.signal(name, value, self.ctx.now_ns())
