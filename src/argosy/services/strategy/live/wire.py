"""Bus payloads into the kernel messages and reports a strategy understands.

Market data arrives as the market-data service publishes it (contracts/v1/market_data.py):
one bar per message, trades and book deltas batched per instrument. Order and fill events
are the trading service's (contracts/v1/events.py); they name the trading service's order
id, which the port maps back to the strategy's client order id.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Message, Side, from_dict
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, Liquidity, OrderRequest, OrderStatus, VenueFill

__all__ = ["fill_from_event", "market_messages", "order_body", "report_from_event"]


def market_messages(data: Mapping[str, Any]) -> list[Message]:
    """Bars, trades and book deltas in one md.* payload, in publish order."""
    kind = data.get("type")
    if kind in ("trades", "book_deltas"):
        return [from_dict(item) for item in data.get("items", ())]
    if kind == "bar":
        return [from_dict(data)]
    return []


def fill_from_event(data: Mapping[str, Any], client_order_id: str) -> VenueFill:
    return VenueFill(
        fill_id=str(data["fill_id"]), client_order_id=client_order_id,
        venue_order_id=str(data["order_id"]), instrument_id=InstrumentId.parse(data["instrument"]),
        side=Side(data["side"]), price=Price(str(data["price"])),
        quantity=Quantity(str(data["quantity"])), fee=Quantity(str(data["fee"])),
        fee_asset=str(data["fee_asset"]), liquidity=Liquidity(data["liquidity"]),
        ts_ns=int(data["at_ms"]) * 1_000_000)


def report_from_event(data: Mapping[str, Any]) -> ExecutionReport:
    avg = data.get("average_price")
    return ExecutionReport(
        client_order_id=str(data["client_order_id"]), venue_order_id=str(data["order_id"]),
        instrument_id=InstrumentId.parse(data["instrument"]), status=OrderStatus(data["status"]),
        filled_quantity=Quantity(str(data.get("filled_quantity") or "0")),
        average_price=Price(str(avg)) if avg else None, ts_ns=int(data["at_ms"]) * 1_000_000,
        reason=data.get("reason"))


def _dec(value: Decimal) -> str:
    return format(value.normalize(), "f")


def order_body(order: OrderRequest, account_id: str) -> dict[str, Any]:
    """POST /api/v1/orders for one strategy order (contracts/v1/trading.py `OrderIn`)."""
    body: dict[str, Any] = {
        "account_id": account_id, "instrument": str(order.instrument_id),
        "side": order.side.value, "type": order.type.value,
        "quantity": _dec(order.quantity.value), "time_in_force": order.time_in_force.value,
        "client_order_id": order.client_order_id, "reduce_only": order.reduce_only}
    if order.price is not None:
        body["price"] = _dec(order.price.value)
    if order.stop_price is not None:
        body["stop_price"] = _dec(order.stop_price.value)
    if order.trailing_bps is not None:
        body["trailing_bps"] = order.trailing_bps
    if order.expire_at_ns is not None:
        body["expire_at"] = order.expire_at_ns
    return body

