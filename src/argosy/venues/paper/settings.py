"""How a paper venue behaves: fees, latency, slippage, starting money, queue model.

Settings are frozen values so one object can configure many venues (a parameter search runs
hundreds of backtests) without one run changing another's fees half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Final, Literal

from argosy.kernel.errors import Invalid

__all__ = ["BPS", "DEFAULT_FEES", "FeeSchedule", "PaperSettings", "QueueModel"]

BPS: Final = Decimal(10_000)
QueueModel = Literal["conservative", "proportional"]


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Maker and taker fee in basis points of notional, charged in the quote asset.

    Rebates (negative maker fees) are refused: a fill's fee is a `Quantity`, never negative.
    """

    maker_bps: Decimal
    taker_bps: Decimal

    def __post_init__(self) -> None:
        for name in ("maker_bps", "taker_bps"):
            value = getattr(self, name)
            if isinstance(value, float) or not isinstance(value, Decimal | int):
                raise Invalid(f"{name} must be a Decimal, never a float", field=name)
            object.__setattr__(self, name, Decimal(value))
        if self.maker_bps < 0 or self.taker_bps < 0:
            raise Invalid("fees must not be negative", field="maker_bps")

    @property
    def maker_rate(self) -> Decimal:
        return self.maker_bps / BPS

    @property
    def taker_rate(self) -> Decimal:
        return self.taker_bps / BPS


DEFAULT_FEES: Final = FeeSchedule(Decimal(10), Decimal(10))  # Binance spot's base tier


def _frozen(mapping: Mapping[str, object]) -> MappingProxyType[str, object]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class PaperSettings:
    """`fees` is keyed by instrument id string (`BTC-USDT.binance`); others pay `default_fees`.

    `latency_ns` delays each order's arrival at the matching engine (by the injected clock
    and the market data timestamps), `slippage_bps` worsens every taker fill price (rounded
    to the tick against the taker). `queue_model` says how cancels at a price level move a
    resting order forward: "conservative" only when the level shrinks below the queue ahead,
    "proportional" by the share of the level ahead of the order.

    `shrink_market_buys` (bar mode, spot): a market buy may ask for more than the balance
    pays; it locks at most the free quote and fills the affordable size at the next open
    (rounded down to the lot), cancelling the rest. "All-in" then means the peers' rule in
    ../shared/bench-peers: size = cash / (fill price x (1 + fee)), known only at the fill.
    """

    latency_ns: int = 0
    slippage_bps: Decimal = Decimal(0)
    fees: Mapping[str, FeeSchedule] = field(default_factory=dict)
    default_fees: FeeSchedule = DEFAULT_FEES
    starting_balances: Mapping[str, Decimal] = field(default_factory=dict)
    queue_model: QueueModel = "conservative"
    default_leverage: int = 1
    leverage: Mapping[str, int] = field(default_factory=dict)
    shrink_market_buys: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.latency_ns, bool) or not isinstance(self.latency_ns, int) \
                or self.latency_ns < 0:
            raise Invalid("latency_ns must be a non-negative int", field="latency_ns")
        if isinstance(self.slippage_bps, float) or not isinstance(self.slippage_bps,
                                                                   Decimal | int):
            raise Invalid("slippage_bps must be a Decimal, never a float", field="slippage_bps")
        object.__setattr__(self, "slippage_bps", Decimal(self.slippage_bps))
        if self.slippage_bps < 0:
            raise Invalid("slippage_bps must not be negative", field="slippage_bps")
        if self.queue_model not in ("conservative", "proportional"):
            raise Invalid("queue_model must be conservative or proportional",
                          field="queue_model")
        for asset, amount in self.starting_balances.items():
            if isinstance(amount, float) or not isinstance(amount, Decimal | int) or amount < 0:
                raise Invalid(f"starting balance of {asset} must be a non-negative Decimal",
                              field="starting_balances")
        for lev in (self.default_leverage, *self.leverage.values()):
            if isinstance(lev, bool) or not isinstance(lev, int) or not 1 <= lev <= 125:
                raise Invalid("leverage must be an int from 1 to 125", field="leverage")
        object.__setattr__(self, "fees", _frozen(self.fees))
        object.__setattr__(self, "starting_balances",
                           _frozen({k: Decimal(v) for k, v in self.starting_balances.items()}))
        object.__setattr__(self, "leverage", _frozen(self.leverage))

    def fee_for(self, instrument_id: str) -> FeeSchedule:
        return self.fees.get(instrument_id, self.default_fees)

    def leverage_for(self, instrument_id: str) -> int:
        return self.leverage.get(instrument_id, self.default_leverage)
