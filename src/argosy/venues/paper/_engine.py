"""The matching engine: taker walks, resting orders with queue estimates, stops, fills.

Rules (also in the package docstring):
- A taker walks the opposite levels best first, each fill at the level's price worsened by
  the slippage, and takes the size out of the local book copy.
- A resting order waits behind `ahead`, the level's size when it arrived. Trades at its
  price eat `ahead` first and then fill it; a trade through its price (a sell below our bid)
  or an opposite level that moves onto it fills it completely at its own price, as maker.
  Level shrinkage not explained by trades is a cancel: "conservative" only caps `ahead` at
  the level's size, "proportional" also removes the share of the cancel that was ahead.
- Stops and trailing stops trigger on trade prices (`_triggers`; bar prices in bar mode),
  then execute here as market or limit orders.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from argosy.kernel.instruments import InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT, Price, Quantity
from argosy.kernel.orders import (
    ExecutionReport,
    Liquidity,
    OrderStatus,
    TimeInForce,
    VenueFill,
)
from argosy.venues.paper._book import Market, OwnSide
from argosy.venues.paper._ledger import Ledger
from argosy.venues.paper._order import LiveOrder
from argosy.venues.paper.settings import BPS

__all__ = ["Engine"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_add = MONEY_CONTEXT.add
_sub = MONEY_CONTEXT.subtract
_mul = MONEY_CONTEXT.multiply
_div = MONEY_CONTEXT.divide


class Engine:
    """Matching for every instrument of one paper account; reports go to `emit`."""

    def __init__(self, venue: str, ledger: Ledger, slippage_bps: Decimal, proportional: bool,
                 emit: Callable[[ExecutionReport], None], shrink_market_buys: bool = False
                 ) -> None:
        self.venue = venue
        self.shrink_market_buys = shrink_market_buys
        self.ledger = ledger
        self.slip = _div(slippage_bps, BPS)
        self.proportional = proportional
        self.emit = emit
        self.fill_seq = 0
        self.fills: dict[str, list[VenueFill]] = {}
        self.open: dict[str, LiveOrder] = {}  # venue order id -> order, arrival order
        self.expiries: list[tuple[int, int, LiveOrder]] = []

    # -- arrival, cancel, expiry -------------------------------------------------------

    def arrive(self, m: Market, o: LiveOrder, ts: int) -> None:
        """The order reaches the matching engine (after the configured latency)."""
        o.arrived = True
        self.open[o.venue_order_id] = o
        expire = o.request.expire_at_ns
        if o.tif is TimeInForce.GTD and expire is not None:
            heapq.heappush(self.expiries, (expire, o.seq, o))
        if not o.triggered:
            o.trail = m.last_price
            m.triggers.append(o)
            self.report(o, ts, 0)
            return
        self.execute(m, o, ts)

    def execute(self, m: Market, o: LiveOrder, ts: int) -> None:
        """Match an order that is live now (new, or a stop that just triggered)."""
        start = len(o.fills)
        if not m.has_book:
            self._execute_without_book(m, o, ts)
            return
        if o.is_market:
            self._take(m, o, None, ts)
            if o.is_open:
                capped = o.request.reduce_only and not self.cap(m, o, o.remaining)
                self.finish(o, OrderStatus.CANCELLED if capped else OrderStatus.EXPIRED,
                            "reduce-only: rest exceeds the position" if capped
                            else "book liquidity exhausted", ts, start)
            else:
                self.report(o, ts, start)
            return
        limit = o.price
        assert limit is not None
        best = m.best_ask() if o.is_buy else m.best_bid()
        crosses = best is not None and (best <= limit if o.is_buy else best >= limit)
        if crosses and o.is_post_only:
            self.finish(o, OrderStatus.EXPIRED, "post-only order would take liquidity", ts,
                         start)
            return
        if crosses:
            if o.tif is TimeInForce.FOK and self._available(m, o, limit) < o.remaining:
                self.finish(o, OrderStatus.EXPIRED, "fill-or-kill: not enough liquidity", ts,
                             start)
                return
            self._take(m, o, limit, ts)
        if not o.is_open:
            self.report(o, ts, start)
        elif o.tif in (TimeInForce.IOC, TimeInForce.FOK):
            self.finish(o, OrderStatus.EXPIRED, f"{o.tif.value}: unfilled rest", ts, start)
        else:
            self.rest(m, o)
            self.report(o, ts, start)

    def _execute_without_book(self, m: Market, o: LiveOrder, ts: int) -> None:
        """Bar or trade mode (no L2 book): market and IOC/FOK orders wait for the next bar
        open or the next trade; limits rest and fill as bars or trades reach them."""
        if not m.has_bars and m.last_price is None:
            self.finish(o, OrderStatus.EXPIRED, f"no market data for {m.key}", ts, 0)
            return
        if o.is_market or o.tif in (TimeInForce.IOC, TimeInForce.FOK):
            m.parked.append(o)
        else:
            last = m.last_price
            limit = o.price
            assert limit is not None
            if o.is_post_only and last is not None and (
                    limit >= last if o.is_buy else limit <= last):
                self.finish(o, OrderStatus.EXPIRED, "post-only order would take liquidity",
                             ts, len(o.fills))
                return
            self.rest(m, o)
        self.report(o, ts, len(o.fills))

    def rest(self, m: Market, o: LiveOrder) -> None:
        price = o.price
        assert price is not None
        same = m.bids if o.is_buy else m.asks
        o.ahead = same.sizes.get(price, _ZERO)
        (m.own_bids if o.is_buy else m.own_asks).add(o, price)

    def unlist(self, m: Market, o: LiveOrder) -> None:
        """Take the order out of every waiting place (book side, triggers, parked)."""
        if o.price is not None and o.triggered:
            (m.own_bids if o.is_buy else m.own_asks).remove(o, o.price)
        if o in m.triggers:
            m.triggers.remove(o)
        if o in m.parked:
            m.parked.remove(o)

    def cancel(self, m: Market, o: LiveOrder, ts: int, status: OrderStatus, reason: str | None
               ) -> None:
        self.unlist(m, o)
        self.finish(o, status, reason, ts, len(o.fills))

    def expire_due(self, markets: dict[str, Market], ts: int) -> None:
        expiries = self.expiries
        while expiries and expiries[0][0] <= ts:
            at, _, o = heapq.heappop(expiries)
            if o.is_open:
                self.cancel(markets[o.key], o, at, OrderStatus.EXPIRED, "good-till-date passed")

    def finish(self, o: LiveOrder, status: OrderStatus, reason: str | None, ts: int,
                start: int) -> None:
        o.status = status
        o.reason = reason
        self._release(o)
        self.open.pop(o.venue_order_id, None)
        self.report(o, ts, start)

    def _release(self, o: LiveOrder) -> None:
        if o.lock and o.instrument.kind is not InstrumentKind.PERP:
            self.ledger.release(o.instrument.quote if o.is_buy else o.instrument.base, o.lock)
        o.lock = _ZERO

    def report(self, o: LiveOrder, ts: int, start: int) -> None:
        self.emit(o.report(ts, tuple(o.fills[start:])))

    # -- taking liquidity --------------------------------------------------------------

    def cap(self, m: Market, o: LiveOrder, qty: Decimal) -> Decimal:
        """Reduce-only orders never trade more than the opposite position."""
        if not o.request.reduce_only:
            return qty
        position = self.ledger.positions.get(m.key)
        held = position.quantity if position is not None else _ZERO
        if (held < 0) if o.is_buy else (held > 0):
            return min(qty, abs(held))
        return _ZERO

    def _available(self, m: Market, o: LiveOrder, limit: Decimal) -> Decimal:
        levels = m.asks if o.is_buy else m.bids
        total = _ZERO
        for price in (levels.prices if o.is_buy else reversed(levels.prices)):
            if (price > limit) if o.is_buy else (price < limit):
                break
            total += levels.sizes[price]
        return total

    def slipped(self, m: Market, price: Decimal, is_buy: bool) -> Decimal:
        if not self.slip:
            return price
        tick = m.instrument.tick_size.value
        moved = _mul(price, _add(_ONE, self.slip) if is_buy else _sub(_ONE, self.slip))
        return moved.quantize(tick, rounding=ROUND_CEILING if is_buy else ROUND_FLOOR)

    def _take(self, m: Market, o: LiveOrder, limit: Decimal | None, ts: int) -> None:
        """Walk the opposite levels best first, all or nothing on the balance check."""
        want = self.cap(m, o, o.remaining)
        if not want:
            self.fail(o, "reduce-only: no opposite position to reduce", ts)
            return
        levels = m.asks if o.is_buy else m.bids
        plan: list[tuple[Decimal, Decimal]] = []
        for price in (levels.prices if o.is_buy else reversed(levels.prices)):
            if limit is not None and ((price > limit) if o.is_buy else (price < limit)):
                break
            size = levels.sizes[price]
            take = size if size < want else want
            plan.append((price, take))
            want -= take
            if not want:
                break
        if not plan:
            return
        if not self.affordable(m, o, plan):
            self.fail(o, "insufficient balance at execution", ts)
            return
        for price, take in plan:
            levels.set(price, levels.sizes[price] - take)
            self.fill(m, o, self.slipped(m, price, o.is_buy), take, Liquidity.TAKER, ts)

    def affordable(self, m: Market, o: LiveOrder, plan: list[tuple[Decimal, Decimal]]) -> bool:
        if m.is_perp:
            return True
        if not o.is_buy:
            qty = sum((q for _, q in plan), _ZERO)
            return qty <= _add(o.lock, self.ledger.free.get(m.instrument.base, _ZERO))
        cost = _ZERO
        for price, qty in plan:
            cost = _add(cost, _mul(self.slipped(m, price, True), qty))
        cost = _add(cost, _mul(cost, m.taker))
        return cost <= _add(o.lock, self.ledger.free.get(m.instrument.quote, _ZERO))

    def affordable_qty(self, m: Market, o: LiveOrder, price: Decimal, qty: Decimal) -> Decimal:
        """The largest lot-multiple quantity a spot buyer can pay at `price` as taker."""
        budget = _add(o.lock, self.ledger.free.get(m.instrument.quote, _ZERO))
        unit = _mul(price, _add(_ONE, m.taker))
        lot = m.instrument.lot_size.value
        most = _div(budget, unit).quantize(lot, rounding=ROUND_FLOOR) if unit else qty
        return min(qty, max(most, _ZERO))

    def fail(self, o: LiveOrder, reason: str, ts: int) -> None:
        """End an order that cannot trade; `execute` sees it closed and stops."""
        o.status = OrderStatus.EXPIRED
        o.reason = reason
        self._release(o)
        self.open.pop(o.venue_order_id, None)

    def fill(self, m: Market, o: LiveOrder, price: Decimal, qty: Decimal,
             liquidity: Liquidity, ts: int) -> VenueFill:
        """Book one execution: balances or position, the order's totals, the fill record."""
        notional = _mul(price, qty)
        fee = _mul(notional, m.maker if liquidity is Liquidity.MAKER else m.taker)
        inst = m.instrument
        ledger = self.ledger
        if m.is_perp:
            position = ledger.position(m.key, inst.quote, m.leverage)
            pnl = position.apply(qty if o.is_buy else -qty, price)
            position.fees = _add(position.fees, fee)
            ledger.receive(inst.quote, _sub(pnl, fee))
        elif o.is_buy:
            o.lock -= ledger.pay(inst.quote, _add(notional, fee), o.lock)
            ledger.receive(inst.base, qty)
        else:
            o.lock -= ledger.pay(inst.base, qty, o.lock)
            ledger.receive(inst.quote, _sub(notional, fee))
        o.filled = _add(o.filled, qty)
        o.notional = _add(o.notional, notional)
        self.fill_seq += 1
        fill = VenueFill(
            fill_id=f"{self.venue}-f{self.fill_seq}",
            client_order_id=o.request.client_order_id,
            venue_order_id=o.venue_order_id,
            instrument_id=o.request.instrument_id,
            side=Side.BUY if o.is_buy else Side.SELL,
            # `_of` keeps the type's checks but skips re-parsing Decimals that are already
            # exact and validated: three per fill is most of a fill's cost otherwise
            price=Price._of(price),
            quantity=Quantity._of(qty),
            fee=Quantity._of(fee),
            fee_asset=inst.quote,
            liquidity=liquidity,
            ts_ns=ts,
        )
        o.fills.append(fill)
        self.fills.setdefault(m.key, []).append(fill)
        if o.filled == o.quantity:
            o.status = OrderStatus.FILLED
            self.unlist(m, o)
            self._release(o)
            self.open.pop(o.venue_order_id, None)
        else:
            o.status = OrderStatus.PARTIALLY_FILLED
            if o.is_buy and not m.is_perp and o.price is not None:
                # a fill below the limit frees the price improvement, as venues do
                rate = m.maker if m.maker > m.taker else m.taker
                need = _mul(_mul(o.remaining, o.price), _add(_ONE, rate))
                if o.lock > need:
                    ledger.release(inst.quote, _sub(o.lock, need))
                    o.lock = need
            elif m.is_perp and o.lock:
                o.lock = max(_ZERO, _sub(o.lock, _div(notional, m.leverage)))
        return fill

    # -- resting orders meet the market ------------------------------------------------

    def maker_fill(self, m: Market, o: LiveOrder, price: Decimal, qty: Decimal, ts: int
                   ) -> Decimal:
        """Fill a resting order as maker; returns the quantity actually filled."""
        start = len(o.fills)
        qty = self.cap(m, o, qty)
        if not qty:
            self.cancel(m, o, ts, OrderStatus.CANCELLED,
                        "reduce-only: no opposite position to reduce")
            return _ZERO
        self.fill(m, o, price, qty, Liquidity.MAKER, ts)
        self.report(o, ts, start)
        return qty

    def sweep(self, m: Market, own: OwnSide, is_bid: bool, through: Decimal, inclusive: bool,
              ts: int) -> None:
        """Fill completely every own order priced better than `through` (or equal)."""
        prices = own.prices
        while prices:
            price = prices[-1] if is_bid else prices[0]
            if is_bid:
                if price < through or (price == through and not inclusive):
                    return
            elif price > through or (price == through and not inclusive):
                return
            for o in list(own.by_price[price]):
                self.maker_fill(m, o, price, o.remaining, ts)

    def queue_trade(self, m: Market, own: OwnSide, price: Decimal, volume: Decimal, ts: int
                    ) -> None:
        """A trade of `volume` at our price: the queue ahead goes first, then our orders."""
        queue = own.by_price.get(price)
        if queue is None:
            return
        if self.proportional:
            own.traded[price] = own.traded.get(price, _ZERO) + volume
        consumed = _ZERO
        avail = volume
        for o in list(queue):
            extra = o.ahead - consumed
            if extra > 0 and avail:
                eat = extra if extra < avail else avail
                consumed += eat
                avail -= eat
            o.ahead = o.ahead - consumed if o.ahead > consumed else _ZERO
            if not o.ahead and avail:
                avail -= self.maker_fill(m, o, price, min(o.remaining, avail), ts)

    def queue_delta(self, own: OwnSide, price: Decimal, old: Decimal, new: Decimal) -> None:
        """The level we wait at changed size: shrinkage without trades means cancels."""
        if new >= old:
            return
        queue = own.by_price[price]
        if self.proportional and old:
            traded = own.traded.get(price, _ZERO)
            drop = old - new
            explained = traded if traded < drop else drop
            own.traded[price] = traded - explained
            cancelled = drop - explained
            if cancelled:
                for o in queue:
                    o.ahead = _sub(o.ahead, _div(_mul(cancelled, o.ahead), old))
        for o in queue:
            if o.ahead > new:
                o.ahead = new
