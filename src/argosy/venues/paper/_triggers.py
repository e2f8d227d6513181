"""When a waiting stop, take-profit or trailing stop becomes a live order.

Triggers read trade prices (bar path prices in bar mode), never the book: a stop at 100 is
touched when the market trades at 100, which is what venues do with "last price" triggers.
A trailing stop remembers the best price since it arrived and triggers when the price
retraces `trailing_bps` from it; its trigger level is rounded to the tick against the
order (down for a sell, up for a buy).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from argosy.kernel.money import MONEY_CONTEXT
from argosy.kernel.orders import OrderType
from argosy.venues.paper._book import Market
from argosy.venues.paper._engine import Engine
from argosy.venues.paper._order import LiveOrder
from argosy.venues.paper.settings import BPS

__all__ = ["check_triggers", "trigger_level"]

_ONE = Decimal(1)
_STOPS = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})
_TAKE_PROFITS = frozenset({OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT})


def trigger_level(o: LiveOrder, price: Decimal) -> Decimal | None:
    """The trigger price `price` reached, or None when the order stays waiting."""
    kind = o.type
    stop = o.stop
    if kind in _STOPS:
        assert stop is not None
        hit = price >= stop if o.is_buy else price <= stop
        return stop if hit else None
    if kind in _TAKE_PROFITS:
        assert stop is not None
        hit = price <= stop if o.is_buy else price >= stop
        return stop if hit else None
    trail = o.trail
    if trail is None or (price < trail if o.is_buy else price > trail):
        o.trail = trail = price
    bps = MONEY_CONTEXT.divide(Decimal(o.request.trailing_bps or 0), BPS)
    tick = o.instrument.tick_size.value
    if o.is_buy:
        level = MONEY_CONTEXT.multiply(trail, _ONE + bps).quantize(tick, rounding=ROUND_CEILING)
        return level if price >= level else None
    level = MONEY_CONTEXT.multiply(trail, _ONE - bps).quantize(tick, rounding=ROUND_FLOOR)
    return level if price <= level else None


def check_triggers(engine: Engine, m: Market, price: Decimal, ts: int) -> None:
    """Book mode: a trade at `price` releases every order it triggers, in arrival order."""
    for o in list(m.triggers):
        if o.is_open and trigger_level(o, price) is not None:
            m.triggers.remove(o)
            o.triggered = True
            engine.execute(m, o, ts)
