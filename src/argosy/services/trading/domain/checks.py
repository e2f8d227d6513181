"""What an order must satisfy before it is stored: shape, the venue's filters, reduce-only
and the balance it needs. Each failure is an `Invalid` naming the field, so the caller
gets a 4xx that says what to change, and nothing is stored as a live order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT as M
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import OrderType, TimeInForce

__all__ = ["OrderSpec", "Requirement", "check_balance", "check_reduce_only", "check_shape",
           "check_with_instrument", "reference_price", "requirement"]

T = OrderType
_NEEDS_PRICE = frozenset({T.LIMIT, T.STOP_LIMIT, T.TAKE_PROFIT_LIMIT, T.POST_ONLY})
_NEEDS_STOP = frozenset({T.STOP_MARKET, T.STOP_LIMIT, T.TAKE_PROFIT, T.TAKE_PROFIT_LIMIT})


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """An order as the caller asked for it, parsed into kernel types."""

    side: Side
    type: OrderType
    quantity: Quantity
    price: Price | None = None
    stop_price: Price | None = None
    trailing_bps: int | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_at_ns: int | None = None
    reduce_only: bool = False

    def fingerprint(self, account_id: str, instrument: str) -> str:
        """Equal requests give equal fingerprints: the idempotency comparison."""
        parts = (account_id, instrument, self.side, self.type, self.quantity.to_str(),
                 self.price.to_str() if self.price else "", self.stop_price.to_str()
                 if self.stop_price else "", str(self.trailing_bps or ""),
                 self.time_in_force, str(self.expire_at_ns or ""), str(self.reduce_only))
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def check_shape(spec: OrderSpec, now_ns: int) -> None:
    """Fields that must or must not be present for the order's type and time in force."""
    if spec.type in _NEEDS_PRICE and spec.price is None:
        raise Invalid(f"a {spec.type} order needs a price", field="price")
    if spec.type not in _NEEDS_PRICE and spec.price is not None:
        raise Invalid(f"a {spec.type} order takes no price", field="price")
    if spec.type in _NEEDS_STOP and spec.stop_price is None:
        raise Invalid(f"a {spec.type} order needs a stop_price", field="stop_price")
    if spec.type not in _NEEDS_STOP and spec.stop_price is not None:
        raise Invalid(f"a {spec.type} order takes no stop_price", field="stop_price")
    if spec.type is T.TRAILING_STOP:
        if spec.trailing_bps is None or not 1 <= spec.trailing_bps <= 10_000:
            raise Invalid("a trailing_stop needs trailing_bps between 1 and 10000",
                          field="trailing_bps")
    elif spec.trailing_bps is not None:
        raise Invalid("only a trailing_stop takes trailing_bps", field="trailing_bps")
    if spec.type is T.POST_ONLY and spec.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        raise Invalid("a post-only order rests: time_in_force must be gtc or gtd",
                      field="time_in_force")
    if spec.time_in_force is TimeInForce.GTD:
        if spec.expire_at_ns is None or spec.expire_at_ns <= now_ns:
            raise Invalid("gtd needs expire_at in the future", field="expire_at")
    elif spec.expire_at_ns is not None:
        raise Invalid("expire_at is only for time_in_force gtd", field="expire_at")
    if spec.stop_price is not None and spec.stop_price.value <= 0:
        raise Invalid("stop_price must be positive", field="stop_price")


def reference_price(spec: OrderSpec, mark: Decimal | None) -> Decimal | None:
    """The price an order's notional and cost are judged at: its own limit, its trigger,
    or the market's mark for market orders."""
    if spec.price is not None:
        return spec.price.value
    if spec.stop_price is not None:
        return spec.stop_price.value
    return mark


def check_with_instrument(spec: OrderSpec, instrument: Instrument, mark: Decimal | None) -> None:
    """The venue's filters: tick, lot, min/max size and min notional."""
    if spec.stop_price is not None and not spec.stop_price.is_multiple_of(instrument.tick_size):
        raise Invalid(f"stop_price {spec.stop_price} is not a multiple of the tick size "
                      f"{instrument.tick_size}", field="stop_price", code="off_tick")
    if spec.price is not None:
        instrument.validate_order(spec.price, spec.quantity)
    else:
        instrument.validate_quantity(spec.quantity)
        ref = reference_price(spec, mark)
        if ref is not None:
            instrument.validate_order(Price(ref).quantize(instrument.tick_size)
                                      if spec.stop_price is None else Price(ref),
                                      spec.quantity)
    if spec.reduce_only and instrument.kind is not InstrumentKind.PERP:
        raise Invalid("reduce_only applies to perpetuals only", field="reduce_only")


def check_reduce_only(spec: OrderSpec, position_qty: Decimal, pending_reduce: Decimal) -> None:
    """A reduce-only order may only shrink the position, counting the reduce-only orders
    already open against it."""
    if not spec.reduce_only:
        return
    room = M.abs(position_qty) - pending_reduce
    reduces = (position_qty > 0 and spec.side is Side.SELL) or (
        position_qty < 0 and spec.side is Side.BUY)
    if not reduces:
        raise Invalid("reduce_only order would increase (or open) the position",
                      field="reduce_only", code="reduce_only_increases")
    if spec.quantity.value > room:
        raise Invalid(f"reduce_only quantity {spec.quantity} exceeds the position left to "
                      f"reduce ({max(room, Decimal(0))})", field="quantity",
                      code="reduce_only_increases")


@dataclass(frozen=True, slots=True)
class Requirement:
    asset: str
    amount: Decimal


def requirement(spec: OrderSpec, instrument: Instrument, ref: Decimal | None,
                leverage: int) -> Requirement | None:
    """What the order locks while open: quote for spot buys, base for spot sells, margin
    for perpetuals (none for reduce-only)."""
    if instrument.kind is InstrumentKind.SPOT:
        if spec.side is Side.SELL:
            return Requirement(instrument.base, spec.quantity.value)
        if ref is None:
            raise Invalid("no market price is known to check the balance of a market buy; "
                          "send a limit order", field="type", code="no_reference_price")
        return Requirement(instrument.quote, M.multiply(ref, spec.quantity.value))
    if spec.reduce_only:
        return None
    if ref is None:
        raise Invalid("no market price is known to check the margin; send a limit order",
                      field="type", code="no_reference_price")
    return Requirement(instrument.quote,
                       M.divide(M.multiply(ref, spec.quantity.value), Decimal(leverage)))


def check_balance(need: Requirement | None, available: Decimal) -> None:
    if need is not None and need.amount > available:
        raise Invalid(f"insufficient {need.asset}: the order needs {need.amount.normalize():f}, "
                      f"{max(available, Decimal(0)).normalize():f} is available",
                      field="quantity", code="insufficient_balance",
                      details={"asset": need.asset})
