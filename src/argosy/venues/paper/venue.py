"""`PaperVenue`: one simulated account at one venue, an `ExecutionVenue` over real data.

Live paper trading feeds it the market-data bus; the backtester feeds it recorded data and
a `SimClock`. Both run exactly this code, so a strategy's fills do not depend on where it
runs. Every input is applied synchronously and in order, ids come from counters and time
from the events and the injected clock, so the same inputs give byte-identical fills.

Orders are checked when submitted (instrument filters, balance or margin, reduce-only) and
rejected with `VenueRejected` naming the reason; market-dependent outcomes (post-only that
would take, FOK without liquidity) are decided when the order reaches the matching engine.
With `latency_ns` > 0 an order reaches it at submit time + latency: `submit` answers
`accepted` and the outcome follows on `reports()`; a market-data event first delivers
every order due at or before its timestamp, then applies.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from decimal import Decimal

from argosy.kernel.clock import NS_PER_SECOND, Clock
from argosy.kernel.errors import Invalid, VenueRejected
from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, OrderRequest, OrderStatus, VenueFill
from argosy.venues.execution import VenuePosition
from argosy.venues.paper._book import Market
from argosy.venues.paper._checks import check_request, required_lock, would_take
from argosy.venues.paper._engine import Engine
from argosy.venues.paper._ledger import Ledger, PositionView
from argosy.venues.paper._market_data import MarketDataIn
from argosy.venues.paper._order import LiveOrder
from argosy.venues.paper.settings import PaperSettings

__all__ = ["PaperVenue"]

_ZERO = Decimal(0)
Listener = Callable[[ExecutionReport], None]


class PaperVenue(MarketDataIn):
    """A paper account with a price-time priority matching engine per instrument."""

    def __init__(self, name: str,
                 instruments: Mapping[InstrumentId, Instrument] | Iterable[Instrument],
                 clock: Clock, settings: PaperSettings | None = None) -> None:
        self.name = name
        self.settings = settings = settings or PaperSettings()
        self._clock = clock
        listed = instruments.values() if isinstance(instruments, Mapping) else instruments
        self._markets: dict[InstrumentId, Market] = {}
        self._by_key: dict[str, Market] = {}
        for instrument in listed:
            key = str(instrument.id)
            market = Market(instrument, settings.fee_for(key), settings.leverage_for(key))
            self._markets[instrument.id] = market
            self._by_key[key] = market
        self._ledger = Ledger(dict(settings.starting_balances))
        self._listeners: list[Listener] = []
        self._last_report: ExecutionReport | None = None
        self._engine = Engine(name, self._ledger, settings.slippage_bps,
                              settings.queue_model == "proportional", self._emit,
                              settings.shrink_market_buys)
        self._expiries = self._engine.expiries  # the same list, one attribute lookup less
        self._orders: dict[tuple[str, str], LiveOrder] = {}
        self._inflight: deque[tuple[int, LiveOrder]] = deque()
        self._seq = 0
        self._last_id: InstrumentId | None = None
        self._last_market: Market | None = None

    # -- reports -----------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Synchronous report callback (the backtester's path); returns its remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, report: ExecutionReport) -> None:
        self._last_report = report
        for listener in self._listeners:
            listener(report)

    def reports(self) -> AsyncIterator[ExecutionReport]:
        """Every report from now on (registered at this call, not at the first `anext`),
        so a consumer set up before an order is sent never misses that order's reports."""
        queue: asyncio.Queue[ExecutionReport] = asyncio.Queue()
        return _drain(queue, self.add_listener(queue.put_nowait))

    # -- orders ------------------------------------------------------------------------

    def _market(self, instrument_id: InstrumentId) -> Market:
        if instrument_id is self._last_id and self._last_market is not None:
            return self._last_market
        market = self._markets.get(instrument_id)
        if market is None:
            raise VenueRejected(f"{instrument_id} is not traded on {self.name}",
                                venue=self.name, field="instrument_id",
                                code="unknown_instrument")
        self._last_id, self._last_market = instrument_id, market
        return market

    def submit_now(self, order: OrderRequest) -> ExecutionReport:
        """`submit` without the coroutine, for the backtester's tight loop."""
        now = self._clock.now_ns()
        self.advance(now)
        m = self._market(order.instrument_id)
        key = (m.key, order.client_order_id)
        known = self._orders.get(key)
        if known is not None:
            if known.request != order:
                raise self._reject("client_order_id already used for a different order",
                                   "duplicate_client_order_id", "client_order_id")
            return known.report(now)
        try:
            check_request(m, order, now, self._ledger)
        except Invalid as error:
            raise self._reject(error.message, error.code, error.field) from None
        if order.type.value == "post_only" and self.settings.latency_ns == 0 and \
                would_take(m, order):
            raise self._reject("post-only order would take liquidity", "post_only_would_take",
                               "price")
        self._seq += 1
        live = LiveOrder(order, m.instrument, f"{self.name}-o{self._seq}", self._seq, now)
        asset, amount = required_lock(m, live, self._ledger, self._open_margin(m),
                                      self._engine.slip, shrink=self.settings.shrink_market_buys)
        if amount is None:
            raise self._reject(asset, "no_market_data" if asset.startswith("no market")
                               else "insufficient_balance", "quantity")
        if amount and not m.is_perp:
            self._ledger.lock(asset, amount)
        live.lock = amount
        self._orders[key] = live
        self._engine.open[live.venue_order_id] = live  # in flight counts as open
        if order.expire_at_ns is not None and order.time_in_force.value == "gtd":
            self._wake_at(order.expire_at_ns)
        if self.settings.latency_ns:
            self._inflight.append((now + self.settings.latency_ns, live))
            self._wake_at(now + self.settings.latency_ns)
            return live.report(now)
        self._last_report = None
        self._engine.arrive(m, live, now)
        emitted = self._last_report
        if emitted is not None and emitted.venue_order_id == live.venue_order_id:
            return emitted  # the arrival's report already holds every fill
        return live.report(now, tuple(live.fills))

    async def submit(self, order: OrderRequest) -> ExecutionReport:
        return self.submit_now(order)

    def _wake_at(self, at_ns: int) -> None:
        """Make sure `advance` runs at `at_ns` even if no market data arrives by then.

        A `SimClock` timer in backtests (it fires before the events after it), an asyncio
        timer on the wall clock in live paper trading; without either, the next market
        event or an explicit `advance()` delivers it.
        """
        call_at = getattr(self._clock, "call_at", None)
        if callable(call_at):
            call_at(at_ns, self.advance)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        delay_s = max(0, at_ns - self._clock.now_ns()) / NS_PER_SECOND
        loop.call_later(delay_s, self.advance)

    def _reject(self, message: str, code: str, field: str | None) -> VenueRejected:
        return VenueRejected(message, venue=self.name, code=code, field=field)

    def _open_margin(self, m: Market) -> Decimal:
        """Initial margin held by open perpetual orders in `m`'s quote asset."""
        if not m.is_perp:
            return _ZERO
        quote = m.instrument.quote
        return sum((o.lock for o in self._engine.open.values()
                    if o.lock and o.instrument.quote == quote
                    and self._by_key[o.key].is_perp), _ZERO)

    def _known(self, instrument_id: InstrumentId, client_order_id: str) -> LiveOrder | None:
        return self._orders.get((str(instrument_id), client_order_id))

    def cancel_now(self, instrument_id: InstrumentId, client_order_id: str) -> ExecutionReport:
        now = self._clock.now_ns()
        self.advance(now)
        o = self._known(instrument_id, client_order_id)
        if o is None:
            raise self._reject(f"unknown order {client_order_id}", "unknown_order",
                               "client_order_id")
        if o.is_open:
            m = self._by_key[o.key]
            if not o.arrived:
                self._inflight = deque(item for item in self._inflight if item[1] is not o)
            self._engine.cancel(m, o, now, OrderStatus.CANCELLED, "cancelled by request")
        return o.report(now)

    async def cancel(self, instrument_id: InstrumentId, client_order_id: str
                     ) -> ExecutionReport:
        return self.cancel_now(instrument_id, client_order_id)

    def amend_now(self, instrument_id: InstrumentId, client_order_id: str, *,
                  price: Price | None = None, quantity: Quantity | None = None
                  ) -> ExecutionReport:
        """Change a resting limit's price and/or total quantity.

        Shrinking keeps the queue position; a new price or a larger size goes to the back
        (re-entering the book, where a crossing price takes liquidity like a new order).
        """
        now = self._clock.now_ns()
        self.advance(now)
        o = self._known(instrument_id, client_order_id)
        if o is None or not o.is_open or not o.arrived or o.price is None or not o.triggered:
            raise self._reject("only a resting limit order can be amended", "not_amendable",
                               "client_order_id")
        m = self._by_key[o.key]
        new_price = price.value if price is not None else o.price
        new_qty = quantity.value if quantity is not None else o.quantity
        try:
            m.instrument.validate_order(Price(new_price), Quantity(new_qty))
        except Invalid as error:
            raise self._reject(error.message, error.code, error.field) from None
        if new_qty <= o.filled:
            raise self._reject(f"quantity must stay above the filled {o.filled}",
                               "amend_below_filled", "quantity")
        keeps_place = new_price == o.price and new_qty <= o.quantity
        old_price, old_qty, old_lock = o.price, o.quantity, o.lock
        o.price, o.quantity = new_price, new_qty
        asset, amount = required_lock(m, o, self._ledger,
                                      self._open_margin(m) - (old_lock if m.is_perp else _ZERO),
                                      self._engine.slip, held=old_lock)
        if amount is None:
            o.price, o.quantity = old_price, old_qty
            raise self._reject(asset, "insufficient_balance", "quantity")
        if not m.is_perp:
            self._ledger.release(asset, old_lock)
            self._ledger.lock(asset, amount)
        o.lock = amount
        if keeps_place:
            self._engine.report(o, now, len(o.fills))
        else:
            own = m.own_bids if o.is_buy else m.own_asks
            own.remove(o, old_price)
            self._engine.execute(m, o, now)
        return o.report(now)

    async def amend(self, instrument_id: InstrumentId, client_order_id: str, *,
                    price: Price | None = None, quantity: Quantity | None = None
                    ) -> ExecutionReport:
        return self.amend_now(instrument_id, client_order_id, price=price, quantity=quantity)

    async def query(self, instrument_id: InstrumentId, client_order_id: str
                    ) -> ExecutionReport | None:
        o = self._known(instrument_id, client_order_id)
        return o.report(self._clock.now_ns()) if o is not None else None

    async def open_orders(self, instrument_id: InstrumentId | None = None
                          ) -> list[ExecutionReport]:
        now = self._clock.now_ns()
        return [o.report(now) for o in self._orders.values()
                if o.is_open and (instrument_id is None or o.request.instrument_id ==
                                  instrument_id)]

    async def fills_since(self, instrument_id: InstrumentId, since_ns: int) -> list[VenueFill]:
        return [f for f in self._engine.fills.get(str(instrument_id), ()) if f.ts_ns >= since_ns]

    def all_fills(self) -> list[VenueFill]:
        """Every fill of every instrument in execution order (ids are sequential)."""
        fills = [f for group in self._engine.fills.values() for f in group]
        fills.sort(key=lambda f: int(f.fill_id.rsplit("-f", 1)[1]))
        return fills

    # -- balances and positions --------------------------------------------------------

    async def balances(self) -> Mapping[str, Quantity]:
        """Free plus locked per asset. A perpetual wallet below zero reads as zero."""
        assets = sorted(set(self._ledger.free) | set(self._ledger.locked))
        return {a: Quantity(max(self._ledger.total(a), _ZERO)) for a in assets}

    def balance_detail(self) -> dict[str, tuple[Decimal, Decimal]]:
        """(free, locked) per asset, exact and signed."""
        assets = sorted(set(self._ledger.free) | set(self._ledger.locked))
        return {a: (self._ledger.free.get(a, _ZERO), self._ledger.locked.get(a, _ZERO))
                for a in assets}

    async def positions(self) -> list[VenuePosition]:
        out = []
        for key, p in sorted(self._ledger.positions.items()):
            if p.quantity:
                out.append(VenuePosition(
                    InstrumentId.parse(key), Side.BUY if p.quantity > 0 else Side.SELL,
                    Quantity(abs(p.quantity)), Price(p.entry), p.leverage))
        return out

    def position_detail(self, instrument_id: InstrumentId) -> PositionView | None:
        p = self._ledger.positions.get(str(instrument_id))
        if p is None:
            return None
        return PositionView(str(instrument_id), p.quantity, p.entry, p.realized, p.fees,
                            p.leverage, p.margin())

    def set_leverage(self, instrument_id: InstrumentId, leverage: int) -> None:
        if isinstance(leverage, bool) or not isinstance(leverage, int) or \
                not 1 <= leverage <= 125:
            raise self._reject("leverage must be an int from 1 to 125", "invalid_leverage",
                               "leverage")
        m = self._market(instrument_id)
        position = self._ledger.positions.get(m.key)
        if position is not None and position.quantity:
            raise self._reject("leverage cannot change while a position is open",
                               "position_open", "leverage")
        m.leverage = leverage
        if position is not None:
            position.leverage = leverage

    def best_prices(self, instrument_id: InstrumentId) -> tuple[Price | None, Price | None]:
        """(best bid, best ask) of the mirrored book; (None, None) before any book data."""
        m = self._market(instrument_id)
        bid, ask = m.best_bid(), m.best_ask()
        return (Price(bid) if bid is not None else None,
                Price(ask) if ask is not None else None)

async def _drain(queue: asyncio.Queue[ExecutionReport], remove: Callable[[], None]
                 ) -> AsyncIterator[ExecutionReport]:
    try:
        while True:
            yield await queue.get()
    finally:
        remove()
