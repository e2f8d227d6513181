"""Payloads of the events other services react to: trading, risk, strategy, analytics.

Every event names its organisation and user, so consumers (notifications, the gateway's
private streams) route it without asking the publisher. Decimals travel as strings.
The owning issues (#6 trading, #7 strategy, #8 risk) may add fields, never remove them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "BalanceEvent",
    "DeploymentStopped",
    "FillEvent",
    "OrderEvent",
    "PositionEvent",
    "ReportReady",
    "RiskAlert",
    "RiskExposure",
    "Severity",
]

Severity = Literal["info", "warning", "critical"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    org: str
    user_id: str
    at_ms: int


class OrderEvent(_Event):
    """`trading.order.<account>`: every state transition of an order."""

    account_id: str
    order_id: str
    client_order_id: str | None = None
    instrument: str
    side: Literal["buy", "sell"]
    type: str
    status: str  # new, submitted, accepted, partially_filled, filled, cancelled, rejected...
    quantity: str
    price: str | None = None
    filled_quantity: str = "0"
    average_price: str | None = None
    reason: str | None = None  # why it was rejected or cancelled


class FillEvent(_Event):
    """`trading.fill.<account>`: one execution."""

    account_id: str
    order_id: str
    fill_id: str
    instrument: str
    side: Literal["buy", "sell"]
    price: str
    quantity: str
    fee: str
    fee_asset: str
    liquidity: Literal["maker", "taker"]


class PositionEvent(_Event):
    """`trading.position.<account>`: a position after a fill or a mark-to-market update.

    `quantity` is signed (short < 0). PnL and fees are in the instrument's quote asset.
    """

    account_id: str
    instrument: str
    quantity: str
    average_entry: str | None = None
    realized_pnl: str = "0"
    unrealized_pnl: str = "0"
    fees_paid: str = "0"
    mark_price: str | None = None
    leverage: int | None = None
    liquidation_price: str | None = None


class BalanceEvent(_Event):
    """`trading.balance.<account>`: one asset's balance after it changed."""

    account_id: str
    asset: str
    total: str
    available: str
    locked: str = "0"


class RiskAlert(_Event):
    """`risk.alert.<severity>`: a breach, an automatic action or a kill switch."""

    alert_id: str
    severity: Severity
    kind: str  # e.g. daily_loss_limit, max_drawdown, kill_switch, stop_triggered
    message: str
    account_id: str | None = None
    scope: str = "account"  # account, user, organisation, global


class RiskExposure(_Event):
    """`risk.exposure.<account>`: one account's numbers after they changed, at most one per
    account per `exposure_publish_s` (the last value wins). Decimals as strings; `leverage`
    is absent without positive equity, `var` / `es` (95 %, one return interval) without
    enough return history. `margin_used` is the perpetuals' initial margin (|qty| x mark /
    leverage), `margin_usage` that over equity (absent without positive equity) and
    `liquidation_distance` the closest |mark - liquidation| / mark (absent without one)."""

    account_id: str
    gross: str
    net: str
    realized: str
    unrealized: str
    drawdown: str  # fraction of peak equity
    leverage: str | None = None
    var: str | None = None
    es: str | None = None
    margin_used: str | None = None
    margin_usage: str | None = None
    liquidation_distance: str | None = None


class DeploymentStopped(_Event):
    """`strategy.deployment.stopped`: a live strategy stopped, on request or on an error."""

    deployment_id: str
    strategy: str
    account_id: str | None = None
    reason: Literal["requested", "error", "risk"]
    error: str | None = None


class ReportReady(_Event):
    """`analytics.report.ready`: a report was stored in the object store."""

    report_id: str
    kind: str
    title: str
    object_key: str
