"""The vocabulary shared by every execution algorithm: inputs, intents, child records.

An algorithm never talks to a venue. The trading service feeds it the clock, market
snapshots and the execution reports of its children, and carries out the intents it
returns ("submit this child", "cancel that one"), persisting both sides. That keeps the
algorithms pure and replayable: the same inputs give the same children, in a backtest, in
paper trading and live.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from argosy.kernel.errors import Invalid
from argosy.kernel.ids import validate_client_order_id
from argosy.kernel.instruments import Instrument
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import TERMINAL_STATUSES, OrderRequest, OrderStatus

__all__ = [
    "AlgoStatus",
    "CancelChild",
    "ChildOrder",
    "Intent",
    "MarketSnapshot",
    "ParentSpec",
    "SubmitChild",
    "fit",
    "slippage_bound",
    "slippage_bps",
]

BPS = Decimal(10_000)
_NO_QUANTITY = Quantity(0)


class AlgoStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    STOPPED_SLIPPAGE = "stopped_slippage"
    EXPIRED = "expired"  # the window ended with quantity left (no liquidity within limits)
    FAILED = "failed"  # children kept being rejected

    @property
    def is_terminal(self) -> bool:
        return self not in (AlgoStatus.RUNNING, AlgoStatus.PAUSED)


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """What the algorithm may know about the market at `ts_ns`.

    `traded_volume` is the cumulative public traded volume from any fixed origin (it must
    only grow): participation algorithms difference it, so the origin does not matter.
    """

    ts_ns: int
    bid: Price | None
    ask: Price | None
    traded_volume: Quantity = _NO_QUANTITY

    @property
    def mid(self) -> Price | None:
        if self.bid is not None and self.ask is not None:
            return Price((self.bid.value + self.ask.value) / 2)
        return self.bid or self.ask

    def touch(self, side: Side) -> Price | None:
        """The price a taker on `side` meets: the ask for a buy, the bid for a sell."""
        return self.ask if side is Side.BUY else self.bid


@dataclass(frozen=True, slots=True)
class SubmitChild:
    order: OrderRequest
    reason: str

    @property
    def child_id(self) -> str:
        return self.order.client_order_id


@dataclass(frozen=True, slots=True)
class CancelChild:
    child_id: str
    reason: str


Intent: TypeAlias = SubmitChild | CancelChild


@dataclass(frozen=True, slots=True)
class ParentSpec:
    """What every algorithm needs: the parent order and its protections.

    `algo_id` prefixes child ids (`<algo_id>-<n>`), so it is at most 28 characters of the
    venue-safe client-id alphabet. `arrival_price` defaults to the mid of the first
    snapshot; `max_slippage_bps` turns market children into limits at the bound and stops
    the algorithm when the market or a fill goes beyond it.
    """

    algo_id: str
    instrument: Instrument
    side: Side
    quantity: Quantity
    limit_price: Price | None = None
    max_slippage_bps: Decimal | None = None
    arrival_price: Price | None = None
    max_rejections: int = 3

    def __post_init__(self) -> None:
        validate_client_order_id(self.algo_id, "algo_id")
        if len(self.algo_id) > 28:
            raise Invalid("algo_id must be at most 28 characters", field="algo_id")
        self.instrument.validate_quantity(self.quantity)
        if self.limit_price is not None and (
                self.limit_price.value <= 0
                or not self.limit_price.is_multiple_of(self.instrument.tick_size)):
            raise Invalid(f"limit price {self.limit_price} must be positive and on the "
                          f"tick {self.instrument.tick_size}", field="limit_price")
        if self.max_slippage_bps is not None and not 0 < self.max_slippage_bps <= 5000:
            raise Invalid("max_slippage_bps must be above 0 and at most 5000",
                          field="max_slippage_bps")
        if self.arrival_price is not None and self.arrival_price.value <= 0:
            raise Invalid("arrival_price must be positive", field="arrival_price")
        if self.max_rejections < 1:
            raise Invalid("max_rejections must be at least 1", field="max_rejections")


_FINEST = Decimal("1e-18")


def fit(value: Decimal) -> Decimal:
    """A quotient rounded to 18 places so it fits an amount (averages, shares)."""
    return value.quantize(_FINEST, decimal.ROUND_HALF_EVEN)


def slippage_bps(side: Side, arrival: Price, price: Price) -> Decimal:
    """How much worse than arrival `price` is for `side`, in bps (negative: better)."""
    move = price.value - arrival.value if side is Side.BUY else arrival.value - price.value
    return move / arrival.value * BPS


def slippage_bound(side: Side, arrival: Price, max_bps: Decimal, tick: Price) -> Price:
    """The worst acceptable price, rounded on the tick against the taker (never beyond)."""
    factor = max_bps / BPS
    if side is Side.BUY:
        return Price(arrival.value * (1 + factor)).quantize(tick, decimal.ROUND_DOWN)
    return Price(arrival.value * (1 - factor)).quantize(tick, decimal.ROUND_UP)


@dataclass(slots=True)
class ChildOrder:
    """The algorithm's view of one child; `filled`/`notional` follow the venue's reports."""

    child_id: str
    quantity: Quantity
    price: Price | None
    sent_ns: int
    status: OrderStatus = OrderStatus.SUBMITTED
    filled: Quantity = _NO_QUANTITY
    notional: Decimal = Decimal(0)
    cancel_requested: bool = False

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL_STATUSES

    @property
    def leaves(self) -> Quantity:
        return self.quantity - self.filled if self.is_open else Quantity(0)

    def to_dict(self) -> dict[str, object]:
        return {
            "child_id": self.child_id, "quantity": self.quantity.to_str(),
            "price": None if self.price is None else self.price.to_str(),
            "sent_ns": self.sent_ns, "status": self.status.value,
            "filled": self.filled.to_str(), "notional": str(self.notional),
            "cancel_requested": self.cancel_requested,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ChildOrder:
        price = data["price"]
        return cls(str(data["child_id"]), Quantity(str(data["quantity"])),
                   None if price is None else Price(str(price)), int(str(data["sent_ns"])),
                   OrderStatus(str(data["status"])), Quantity(str(data["filled"])),
                   Decimal(str(data["notional"])), bool(data["cancel_requested"]))
