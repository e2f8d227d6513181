"""The order vocabulary every part of Argosy shares: trading, venues, backtests and risk.

One set of types so that the paper matching engine, the Binance adapter, the trading
engine's state machine, the backtester and the pre-trade rules all speak about the same
order. Everything here is pure and frozen; quantities and prices are kernel Decimals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity

__all__ = [
    "TERMINAL_STATUSES",
    "ExecutionReport",
    "Liquidity",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "TimeInForce",
    "VenueFill",
]


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT = "take_profit"  # market once the trigger is touched
    TAKE_PROFIT_LIMIT = "take_profit_limit"
    TRAILING_STOP = "trailing_stop"  # market once price retraces `trailing_bps` from its best
    POST_ONLY = "post_only"  # a limit that is cancelled instead of taking liquidity


class TimeInForce(StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"  # good till `expire_at_ns`


class OrderStatus(StrEnum):
    NEW = "new"  # stored, not yet sent
    SUBMITTED = "submitted"  # sent, no answer yet
    SUBMITTED_UNKNOWN = "submitted_unknown"  # the send's outcome is unknown: reconcile
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What is sent to a venue. `client_order_id` is the idempotency key at the venue."""

    client_order_id: str
    instrument_id: InstrumentId
    side: Side
    type: OrderType
    quantity: Quantity
    price: Price | None = None
    stop_price: Price | None = None
    trailing_bps: int | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_at_ns: int | None = None
    reduce_only: bool = False


@dataclass(frozen=True, slots=True)
class VenueFill:
    """One execution as the venue reports it; `fill_id` is unique per venue and instrument."""

    fill_id: str
    client_order_id: str
    venue_order_id: str
    instrument_id: InstrumentId
    side: Side
    price: Price
    quantity: Quantity
    fee: Quantity
    fee_asset: str
    liquidity: Liquidity
    ts_ns: int


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """The venue's view of one order at one moment (answer to a send, query or stream)."""

    client_order_id: str
    venue_order_id: str | None
    instrument_id: InstrumentId
    status: OrderStatus
    filled_quantity: Quantity
    average_price: Price | None
    ts_ns: int
    reason: str | None = None
    fills: tuple[VenueFill, ...] = field(default_factory=tuple)
