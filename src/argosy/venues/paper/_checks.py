"""What a paper venue refuses at submit time, and what an order must lock.

The same checks a real venue makes before accepting an order, so paper trading teaches a
strategy the rejections it will meet live: filters (tick, lot, minimums), missing prices,
reduce-only that would grow a position, and not enough money. A spot order locks what it
can spend; a perpetual order needs initial margin (notional / leverage plus the taker fee)
out of the wallet not already used by positions and other open orders.
"""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.errors import Invalid
from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT
from argosy.kernel.orders import OrderRequest, OrderType, TimeInForce
from argosy.venues.paper._book import Market
from argosy.venues.paper._ledger import Ledger
from argosy.venues.paper._order import LiveOrder

__all__ = ["check_request", "required_lock", "would_take"]

_ZERO = Decimal(0)
_BUY = Side.BUY
_ONE = Decimal(1)
_mul = MONEY_CONTEXT.multiply
_LIMITS = frozenset({OrderType.LIMIT, OrderType.POST_ONLY, OrderType.STOP_LIMIT,
                     OrderType.TAKE_PROFIT_LIMIT})
_STOPPED = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT,
                      OrderType.TAKE_PROFIT_LIMIT})


def check_request(m: Market, order: OrderRequest, now_ns: int, ledger: Ledger) -> None:
    """Raise `Invalid` (code and field set) for an order the venue would refuse."""
    inst = m.instrument
    if order.type in _LIMITS:
        if order.price is None:
            raise Invalid(f"a {order.type.value} order needs a price", field="price",
                          code="price_required")
        inst.validate_order(order.price, order.quantity)
    else:
        inst.validate_quantity(order.quantity)
    if order.type in _STOPPED:
        stop = order.stop_price
        if stop is None:
            raise Invalid(f"a {order.type.value} order needs a stop_price", field="stop_price",
                          code="stop_price_required")
        if stop.value <= 0 or not stop.is_multiple_of(inst.tick_size):
            raise Invalid(f"stop_price {stop} must be positive and on the tick {inst.tick_size}",
                          field="stop_price", code="off_tick")
    if order.type is OrderType.TRAILING_STOP:
        bps = order.trailing_bps
        if isinstance(bps, bool) or not isinstance(bps, int) or not 1 <= bps <= 10_000:
            raise Invalid("a trailing stop needs trailing_bps from 1 to 10000",
                          field="trailing_bps", code="trailing_bps_required")
    if order.time_in_force is TimeInForce.GTD and (
            order.expire_at_ns is None or order.expire_at_ns <= now_ns):
        raise Invalid("a GTD order needs expire_at_ns in the future", field="expire_at_ns",
                          code="expire_required")
    if order.reduce_only:
        if not m.is_perp:
            raise Invalid("reduce_only applies to perpetuals only", field="reduce_only",
                          code="reduce_only_spot")
        position = ledger.positions.get(m.key)
        held = position.quantity if position is not None else _ZERO
        if not ((held < 0) if order.side.value == "buy" else (held > 0)):
            raise Invalid("reduce-only order would increase or open a position",
                          field="reduce_only", code="reduce_only_would_increase")


def _reference(m: Market, o: LiveOrder) -> Decimal | None:
    if o.price is not None:
        return o.price
    if o.stop is not None:
        return o.stop
    return m.reference_price(o.is_buy)


def required_lock(m: Market, o: LiveOrder, ledger: Ledger, open_margin: Decimal,
                  slip: Decimal, held: Decimal = _ZERO, shrink: bool = False
                  ) -> tuple[str, Decimal | None]:
    """(asset, amount) the order must hold, or (reason, None) when it cannot be afforded.

    `held` is what the order already holds (an amend re-checks with its old lock counted).
    `shrink`: a spot market buy locks at most the free quote (it is capped at the fill).
    """
    inst = m.instrument
    remaining = o.remaining
    if m.is_perp and o.request.reduce_only:
        return inst.quote, _ZERO
    if not m.is_perp and not o.is_buy:
        return _check(ledger, inst.base, remaining, held)
    ref = _reference(m, o)
    if ref is None:
        return f"no market price for {m.key} yet to value the order", None
    if o.price is None:  # market-like: the taker fee and slippage apply
        rate = m.taker
        ref = _mul(ref, _ONE + slip)
    else:
        rate = max(m.maker, m.taker)
    notional = _mul(ref, remaining)
    if not m.is_perp:
        amount = notional + _mul(notional, rate)
        if shrink and o.type is OrderType.MARKET:
            free_quote = ledger.free.get(inst.quote, _ZERO)
            if free_quote > 0:
                amount = min(amount, free_quote + held)
        return _check(ledger, inst.quote, amount, held)
    margin = notional / m.leverage + _mul(notional, m.taker)
    free = ledger.total(inst.quote) - ledger.margin_used(inst.quote) - open_margin
    if margin > free + held:
        return (f"insufficient margin: needs {margin.normalize():f} {inst.quote}, "
                f"available {max(free, _ZERO).normalize():f} {inst.quote}"), None
    return inst.quote, margin


def _check(ledger: Ledger, asset: str, amount: Decimal, held: Decimal
           ) -> tuple[str, Decimal | None]:
    free = ledger.free.get(asset, _ZERO)
    if amount > free + held:
        return (f"insufficient balance: needs {amount.normalize():f} {asset}, "
                f"free {free.normalize():f} {asset}"), None
    return asset, amount


def would_take(m: Market, order: OrderRequest) -> bool:
    """A post-only order's price meets the book (or, in bar mode, the last price)."""
    assert order.price is not None
    limit = order.price.value
    book = m.best_ask() if order.side is _BUY else m.best_bid()
    best = book if m.has_book else m.last_price
    if best is None:
        return False
    return best <= limit if order.side is _BUY else best >= limit
