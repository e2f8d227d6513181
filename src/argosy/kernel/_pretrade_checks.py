"""One check per rule kind: `(rule, order facts) -> None` if it passes, else the reason.

Limits are inclusive (exactly at the limit passes). Every check that guards risk *growth*
(position, exposure, leverage, loss, drawdown, restricted instruments) lets an order that
only shrinks the position through, so a breached account can always be flattened. All
arithmetic runs in `MONEY_CONTEXT`; products are compared instead of quotients so no
rounding ever decides a boundary.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from decimal import Decimal

from argosy.kernel._pretrade_types import OrderContext, Rule, RuleKind
from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT

__all__ = ["CHECKS", "Facts", "utc_weekday_minute"]

_NS_PER_MINUTE = 60_000_000_000
_BPS = Decimal(10_000)
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)

_mul = MONEY_CONTEXT.multiply
_add = MONEY_CONTEXT.add
_sub = MONEY_CONTEXT.subtract
_abs = MONEY_CONTEXT.abs  # the builtins would round in the thread's global context
_neg = MONEY_CONTEXT.minus


class Facts:
    """Per-order values several checks share, derived once per check call."""

    __slots__ = ("ctx", "instrument", "new_position", "px", "qty", "reducing", "signed_qty")

    def __init__(self, ctx: OrderContext, instrument: str | None = None) -> None:
        self.ctx = ctx
        self.instrument = instrument if instrument is not None else str(ctx.instrument_id)
        self.qty = ctx.quantity.value
        self.signed_qty = self.qty if ctx.side is Side.BUY else _neg(self.qty)
        pos = ctx.position_qty
        self.new_position = _add(pos, self.signed_qty)
        # Shrinks the position without flipping it; a zero-quantity order changes nothing.
        self.reducing = self.qty == 0 or (
            pos != 0 and (pos > 0) != (self.signed_qty > 0) and self.qty <= _abs(pos)
        )
        # The order's own price, else the mark (a market order executes near the mark).
        px = ctx.price if ctx.price is not None else ctx.mark_price
        self.px = None if px is None else px.value

    def price(self) -> Decimal | None:
        return self.px


def utc_weekday_minute(now_ns: int) -> tuple[int, int]:
    minutes = now_ns // _NS_PER_MINUTE
    days, minute = divmod(minutes, 1440)
    return (days + _EPOCH_WEEKDAY) % 7, minute


def _limit(rule: Rule) -> Decimal:
    assert rule.limit is not None  # guaranteed by Rule for every kind that uses it
    return rule.limit


_NO_PRICE = "no order price and no mark price to value the order"


def _max_order_quantity(rule: Rule, f: Facts) -> str | None:
    if f.qty <= _limit(rule):
        return None
    return f"quantity {f.qty} exceeds the maximum {rule.limit}"


def _max_order_notional(rule: Rule, f: Facts) -> str | None:
    px = f.px
    if px is None:
        return _NO_PRICE
    value = _abs(_mul(px, f.qty))
    if value <= _limit(rule):
        return None
    return f"notional {value} exceeds the maximum {rule.limit}"


def _price_band(rule: Rule, f: Facts) -> str | None:
    if f.ctx.price is None:
        return None  # a market order has no price to be out of band
    if f.ctx.mark_price is None:
        return "no mark price to check the price band against"
    price, mark = f.ctx.price.value, f.ctx.mark_price.value
    if mark <= 0:
        return "mark price is not positive"
    if _mul(_abs(_sub(price, mark)), _BPS) <= _mul(_limit(rule), mark):
        return None
    return f"price {price} is more than {rule.limit} bps from the mark {mark}"


def _max_position(rule: Rule, f: Facts) -> str | None:
    if f.reducing or _abs(f.new_position) <= _limit(rule):
        return None
    return f"resulting position {f.new_position} exceeds the maximum {rule.limit}"


def _gross_after(f: Facts, px: Decimal) -> Decimal:
    grow = _sub(_abs(f.new_position), _abs(f.ctx.position_qty))
    return _add(f.ctx.gross_exposure, _mul(grow, px))


def _max_gross(rule: Rule, f: Facts) -> str | None:
    if f.reducing:
        return None
    px = f.px
    if px is None:
        return _NO_PRICE
    gross = _gross_after(f, px)
    if gross <= _limit(rule):
        return None
    return f"gross exposure would be {gross}, above the maximum {rule.limit}"


def _max_net(rule: Rule, f: Facts) -> str | None:
    px = f.px
    if px is None:
        return None if f.reducing else _NO_PRICE
    net = _add(f.ctx.net_exposure, _mul(f.signed_qty, px))
    if _abs(net) <= _limit(rule) or _abs(net) <= _abs(f.ctx.net_exposure):
        return None
    return f"net exposure would be {net}, beyond the maximum {rule.limit}"


def _max_leverage(rule: Rule, f: Facts) -> str | None:
    if f.reducing:
        return None
    px = f.px
    if px is None:
        return _NO_PRICE
    gross = _gross_after(f, px)
    equity = f.ctx.equity
    if equity <= 0:
        return f"equity {equity} is not positive; only reducing orders are allowed"
    if gross <= _mul(_limit(rule), equity):
        return None
    return f"leverage would be {MONEY_CONTEXT.divide(gross, equity):.4f}, above {rule.limit}"


def _max_open_orders(rule: Rule, f: Facts) -> str | None:
    if f.ctx.open_orders < _limit(rule):
        return None
    return f"{f.ctx.open_orders} orders already open, the maximum is {rule.limit}"


def _order_rate(rule: Rule, f: Facts) -> str | None:
    assert rule.window_ns is not None
    recent = f.ctx.recent_order_ns
    since = f.ctx.now_ns - rule.window_ns  # the window is (now - window, now]
    count = len(recent) - bisect_right(recent, since)
    if count < _limit(rule):
        return None
    return f"{count} orders in the last {rule.window_ns / 1e9:g}s, the maximum is {rule.limit}"


def _daily_loss(rule: Rule, f: Facts) -> str | None:
    if f.reducing or _neg(f.ctx.day_pnl) <= _limit(rule):
        return None
    return f"today's loss {_neg(f.ctx.day_pnl)} exceeds the limit {rule.limit}"


def _max_drawdown(rule: Rule, f: Facts) -> str | None:
    if f.reducing or f.ctx.drawdown <= _limit(rule):
        return None
    return f"drawdown {f.ctx.drawdown} from peak exceeds the limit {rule.limit}"


def _restricted(rule: Rule, f: Facts) -> str | None:
    if f.reducing or f.instrument not in rule.instruments:
        return None
    return f"{f.instrument} is restricted"


def _trading_hours(rule: Rule, f: Facts) -> str | None:
    weekday, minute = utc_weekday_minute(f.ctx.now_ns)
    if any(w.contains(weekday, minute) for w in rule.hours):
        return None
    return f"outside trading hours (UTC weekday {weekday}, {minute // 60:02d}:{minute % 60:02d})"


CHECKS: dict[RuleKind, Callable[[Rule, Facts], str | None]] = {
    RuleKind.MAX_ORDER_QUANTITY: _max_order_quantity,
    RuleKind.MAX_ORDER_NOTIONAL: _max_order_notional,
    RuleKind.PRICE_BAND_BPS: _price_band,
    RuleKind.MAX_POSITION: _max_position,
    RuleKind.MAX_GROSS_EXPOSURE: _max_gross,
    RuleKind.MAX_NET_EXPOSURE: _max_net,
    RuleKind.MAX_LEVERAGE: _max_leverage,
    RuleKind.MAX_OPEN_ORDERS: _max_open_orders,
    RuleKind.ORDER_RATE: _order_rate,
    RuleKind.DAILY_LOSS_LIMIT: _daily_loss,
    RuleKind.MAX_DRAWDOWN: _max_drawdown,
    RuleKind.RESTRICTED_INSTRUMENTS: _restricted,
    RuleKind.TRADING_HOURS: _trading_hours,
}
