"""Wire schemas of the trading service's public API (/api/v1/orders, fills, positions,
balances). Quantities and prices travel as decimal strings, never JSON numbers, so no
digit is lost on the way; timestamps are int nanoseconds UTC.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AlgoIn", "AlgoOut", "AmendIn", "BalanceOut", "CancelAllIn", "CancelAllOut",
           "FillOut", "LeverageIn", "LeverageOut", "OrderIn", "OrderOut", "PositionOut",
           "TransitionOut"]

Dec = str


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: str = Field(examples=["BTC-USDT.binance"], max_length=64)
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop_market", "stop_limit", "take_profit",
                  "take_profit_limit", "trailing_stop", "post_only"]
    quantity: Dec = Field(examples=["0.001"], max_length=64)
    price: Dec | None = Field(None, max_length=64, description="limit, stop_limit, "
                              "take_profit_limit and post_only orders")
    stop_price: Dec | None = Field(None, max_length=64, description="The trigger of stop and "
                                   "take-profit orders")
    trailing_bps: int | None = Field(None, description="trailing_stop: retrace from the best "
                                     "price, in basis points")
    time_in_force: Literal["gtc", "ioc", "fok", "gtd"] = "gtc"
    expire_at: int | None = Field(None, description="gtd: int ns UTC")
    client_order_id: str | None = Field(
        None, max_length=36, description="Idempotency key: the same id with the same "
        "parameters returns the same order; with different parameters, 409.")
    reduce_only: bool = False
    account_id: str | None = Field(None, max_length=40,
                                   description="Default: your default paper account")


class AmendIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quantity: Dec | None = Field(None, max_length=64)
    price: Dec | None = Field(None, max_length=64)


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    filled_quantity: Dec
    source: str
    reason: str | None
    ts_ns: int


class OrderOut(BaseModel):
    id: str
    account_id: str
    client_order_id: str
    instrument: str
    side: str
    type: str
    quantity: Dec
    price: Dec | None
    stop_price: Dec | None
    trailing_bps: int | None
    time_in_force: str
    expire_at: int | None
    reduce_only: bool
    status: str = Field(description="new, submitted, submitted_unknown, accepted, "
                        "partially_filled, filled, cancelled, rejected, expired")
    filled_quantity: Dec
    average_price: Dec | None
    venue_order_id: str | None
    reason: str | None
    created_ns: int
    updated_ns: int
    transitions: list[TransitionOut] | None = None
    parent_algo_id: str | None = Field(None, description="The execution algorithm this "
                                       "order is a child of (GET /api/v1/algos/{id})")


class FillOut(BaseModel):
    account_id: str
    order_id: str
    fill_id: str
    instrument: str
    side: str
    price: Dec
    quantity: Dec
    fee: Dec
    fee_asset: str
    liquidity: str
    ts_ns: int


class PositionOut(BaseModel):
    account_id: str
    instrument: str
    quantity: Dec = Field(description="Signed: short < 0")
    average_entry: Dec | None
    realized_pnl: Dec
    unrealized_pnl: Dec
    fees_paid: Dec
    mark_price: Dec | None
    leverage: int | None = Field(None, description="USD-M perpetuals: the account's leverage "
                                 "for the instrument (PUT .../leverage); null for spot")
    initial_margin: Dec | None = Field(None, description="Perpetuals: |quantity| x mark (or "
                                       "entry without a mark) / leverage")
    maintenance_margin: Dec | None = Field(None, description="Perpetuals: |quantity| x mark "
                                           "(or entry) x the maintenance rate (flat, 0.4%)")
    liquidation_price: Dec | None = Field(
        None, description="Perpetuals, cross margin: the mark at which the quote wallet "
        "balance plus the other positions' unrealized PnL minus their maintenance, plus "
        "this position's PnL, falls to its maintenance margin. Null when flat or when no "
        "positive price liquidates. Informative: the paper venue does not force-liquidate.")


class LeverageIn(BaseModel):
    """PUT /api/v1/positions/{instrument}/leverage: the leverage of one USD-M perpetual
    in one account, refused (409) while that position is open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    leverage: int = Field(ge=1, le=125, strict=True, examples=[10], description="1 to 125")
    account_id: str | None = Field(None, max_length=40,
                                   description="Default: your default paper account")


class LeverageOut(BaseModel):
    account_id: str
    instrument: str
    leverage: int


class BalanceOut(BaseModel):
    account_id: str
    asset: str
    total: Dec
    locked: Dec = Field(description="Held by open orders")
    available: Dec


class CancelAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str | None = Field(None, max_length=40)
    instrument: str | None = Field(None, max_length=64)


class CancelAllOut(BaseModel):
    cancelled: list[str]
    pending: list[str] = Field(description="Cancel sent, outcome not yet known")


class AlgoIn(BaseModel):
    """POST /api/v1/algos. `params` per type (seconds and decimal strings):
    twap `{duration_s, slices, start_delay_s?, randomize?, seed?}`; vwap the same plus
    `{profile_interval?: "5m"|"15m"|"1h", profile_days?}` (the volume profile comes from
    the market-data service's candles); iceberg `{show_quantity}` (needs `limit_price`);
    pov `{rate, min_child, max_child?, duration_s?}`; sor `{latency_penalty_bps_per_ms?}`
    with `account_ids` naming the candidate accounts (default: the one account)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["twap", "vwap", "iceberg", "pov", "sor"]
    instrument: str = Field(examples=["BTC-USDT.binance"], max_length=64)
    side: Literal["buy", "sell"]
    quantity: Dec = Field(examples=["0.01"], max_length=64)
    limit_price: Dec | None = Field(None, max_length=64)
    max_slippage_bps: Dec | None = Field(None, max_length=16)
    account_id: str | None = Field(None, max_length=40,
                                   description="Default: your default paper account")
    account_ids: list[str] | None = Field(None, max_length=20, description="sor: route "
                                          "across these accounts of yours")
    client_algo_id: str | None = Field(None, max_length=64, description="Idempotency key")
    params: dict[str, Any] = Field(default_factory=dict)


class AlgoOut(BaseModel):
    algo_id: str
    kind: str
    status: str
    reason: str | None
    account_id: str
    client_algo_id: str | None = None
    instrument: str
    side: str
    quantity: Dec
    filled_quantity: Dec
    open_quantity: Dec
    average_price: Dec | None
    arrival_price: Dec | None
    created_ns: int
    updated_ns: int
    end_ns: int | None = Field(None, description="twap/vwap: when the schedule ends "
                               "(moved later by pauses)")
    children: list[dict[str, Any]] = Field(description="The algorithm's view of each child "
                                           "plus `order_id`, the child's order")
    plan: dict[str, Any] | None = Field(None, description="sor: the routing plan, per venue "
                                        "with the reason, and notes")
