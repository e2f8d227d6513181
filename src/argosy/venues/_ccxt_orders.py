"""Pure mappings between the kernel's order vocabulary and ccxt's unified structures.

Kept apart from `CcxtExecution` so every mapping (ids, order types, statuses, fills, errors)
is unit-testable without an exchange. What an exchange can express is read from ccxt's own
`features` table for the market type, so an order the exchange cannot take is refused here,
before anything is sent, instead of being silently turned into a different order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ccxt  # type: ignore[import-untyped]  # ships no type information

from argosy.kernel.errors import Invalid, VenueReconcile, VenueRejected, VenueRetry
from argosy.kernel.instruments import InstrumentId, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import (
    ExecutionReport,
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
    VenueFill,
)

__all__ = [
    "CreateOrder",
    "client_id_param",
    "create_order_args",
    "fill_from_trade",
    "instrument_for_symbol",
    "map_error",
    "report_from_order",
    "symbol_for",
]

NS_PER_MS = 1_000_000
# The create-order parameter each exchange reads its client order id from. ccxt's unified
# name is `clientOrderId`; Binance's own name is used there so the id reaches the venue even
# on ccxt versions that only translate one of the two.
_CLIENT_ID_PARAM = {"binance": "newClientOrderId", "binanceusdm": "newClientOrderId",
                    "binancecoinm": "newClientOrderId"}
_TIF = {TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_STATUS = {"closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED,
           "cancelled": OrderStatus.CANCELLED, "expired": OrderStatus.EXPIRED,
           "rejected": OrderStatus.REJECTED}


def client_id_param(exchange_id: str) -> str:
    return _CLIENT_ID_PARAM.get(exchange_id, "clientOrderId")


def symbol_for(iid: InstrumentId) -> str:
    """`BTC-USDT.kraken` -> `BTC/USDT`; `BTC-USDT-PERP.bybit` -> `BTC/USDT:USDT` (linear)."""
    if iid.kind is InstrumentKind.PERP:
        return f"{iid.base}/{iid.quote}:{iid.quote}"
    return f"{iid.base}/{iid.quote}"


def instrument_for_symbol(symbol: str, venue: str) -> InstrumentId | None:
    """The inverse of `symbol_for`; None for anything without a canonical id (inverse
    perps, dated futures, options)."""
    pair, _, settle = symbol.partition(":")
    base, slash, quote = pair.partition("/")
    if not slash or "-" in settle:
        return None
    if settle and settle != quote:
        return None
    try:
        return InstrumentId(base, quote, InstrumentKind.PERP if settle else InstrumentKind.SPOT,
                            venue)
    except Invalid:  # an asset code the kernel does not accept
        return None


def _number(value: Any) -> Decimal | None:
    """ccxt numbers (strings when `exchange.number = str`, floats otherwise) as Decimal."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value if isinstance(value, Decimal | int) else str(value))


def _features(exchange: Any, iid: InstrumentId) -> Mapping[str, Any]:
    table = getattr(exchange, "features", None) or {}
    if iid.kind is InstrumentKind.SPOT:
        market = table.get("spot") or {}
    else:
        market = (table.get("swap") or {}).get("linear") or {}
    return market.get("createOrder") or {}


@dataclass(frozen=True, slots=True)
class CreateOrder:
    """The arguments of one `exchange.create_order` call."""

    symbol: str
    type: str
    side: str
    amount: str
    price: str | None
    params: dict[str, Any] = field(default_factory=dict)


def _refuse(venue: str, what: str, order: OrderRequest) -> VenueRejected:
    return VenueRejected(f"{venue} cannot express {what} through ccxt "
                         f"(order {order.client_order_id})", venue=venue,
                         venue_code="unsupported")


def create_order_args(exchange: Any, venue: str, order: OrderRequest) -> CreateOrder:
    """The create_order call for `order`, or VenueRejected when the exchange's ccxt features
    say it cannot take this kind of order (nothing is sent then)."""
    feats = _features(exchange, order.instrument_id)
    tifs = feats.get("timeInForce") or {}
    kind = order.type
    params: dict[str, Any] = {client_id_param(venue): order.client_order_id}
    price = str(order.price) if order.price is not None else None
    limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT,
                     OrderType.POST_ONLY)
    if limit and price is None:
        raise VenueRejected(f"a {kind} order needs a price", venue=venue,
                            venue_code="missing_price")
    if kind in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT,
                OrderType.TAKE_PROFIT_LIMIT):
        if order.stop_price is None:
            raise VenueRejected(f"a {kind} order needs a stop price", venue=venue,
                                venue_code="missing_stop_price")
        take = kind in (OrderType.TAKE_PROFIT, OrderType.TAKE_PROFIT_LIMIT)
        key = "takeProfitPrice" if take else "stopLossPrice"
        if not feats.get(key):
            raise _refuse(venue, f"{kind} orders", order)
        params[key] = str(order.stop_price)
    elif kind is OrderType.TRAILING_STOP:
        if not feats.get("trailing") or order.trailing_bps is None:
            raise _refuse(venue, "trailing stops", order)
        params["trailingPercent"] = str(Decimal(order.trailing_bps) / 100)
    elif kind is OrderType.POST_ONLY:
        if not tifs.get("PO"):
            raise _refuse(venue, "post-only orders", order)
        params["postOnly"] = True
    if order.time_in_force is TimeInForce.GTD:
        raise _refuse(venue, "good-till-date orders", order)
    if order.time_in_force in _TIF:
        if kind is OrderType.POST_ONLY or not tifs.get(_TIF[order.time_in_force]):
            raise _refuse(venue, f"time in force {order.time_in_force}", order)
        params["timeInForce"] = _TIF[order.time_in_force]
    if order.reduce_only:
        if order.instrument_id.kind is InstrumentKind.SPOT:
            raise _refuse(venue, "reduce-only on spot", order)
        params["reduceOnly"] = True
    return CreateOrder(symbol=symbol_for(order.instrument_id),
                       type="limit" if limit else "market", side=order.side.value.lower(),
                       amount=str(order.quantity), price=price if limit else None,
                       params=params)


def _status(raw: Mapping[str, Any], filled: Decimal) -> OrderStatus:
    status = _STATUS.get(str(raw.get("status")))
    if status is not None:
        return status
    if raw.get("status") == "open":
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    return OrderStatus.SUBMITTED_UNKNOWN  # ccxt could not tell: reconcile


def _side(value: Any) -> Side:
    return Side.BUY if str(value).lower() == "buy" else Side.SELL


def fill_from_trade(trade: Mapping[str, Any], iid: InstrumentId, client_order_id: str
                    ) -> VenueFill | None:
    """A ccxt trade as a kernel fill; None when the exchange left out id, price or amount."""
    price, amount = _number(trade.get("price")), _number(trade.get("amount"))
    if trade.get("id") is None or price is None or amount is None:
        return None
    fee = trade.get("fee") or {}
    maker = trade.get("takerOrMaker") == "maker"
    return VenueFill(
        fill_id=str(trade["id"]), client_order_id=client_order_id,
        venue_order_id=str(trade.get("order") or ""), instrument_id=iid,
        side=_side(trade.get("side")), price=Price(price), quantity=Quantity(amount),
        fee=Quantity(_number(fee.get("cost")) or Decimal(0)),
        fee_asset=str(fee.get("currency") or ""),
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        ts_ns=int(trade.get("timestamp") or 0) * NS_PER_MS)


def report_from_order(raw: Mapping[str, Any], iid: InstrumentId, client_order_id: str | None,
                      now_ns: int) -> ExecutionReport:
    """A ccxt order as the kernel's execution report (fills when ccxt parsed any)."""
    cid = str(raw.get("clientOrderId") or client_order_id or "")
    filled = _number(raw.get("filled")) or Decimal(0)
    average = _number(raw.get("average"))
    fills = tuple(f for f in (fill_from_trade(t, iid, cid) for t in raw.get("trades") or ())
                  if f is not None)
    if average is None and fills and filled > 0:
        average = sum((f.price.value * f.quantity.value for f in fills), Decimal(0)) / filled
    stamp = raw.get("lastUpdateTimestamp") or raw.get("timestamp")
    return ExecutionReport(
        client_order_id=cid, venue_order_id=str(raw["id"]) if raw.get("id") else None,
        instrument_id=iid, status=_status(raw, filled), filled_quantity=Quantity(filled),
        average_price=Price(average) if average is not None and average > 0 else None,
        ts_ns=int(stamp) * NS_PER_MS if stamp else now_ns, fills=fills)


def map_error(error: Exception, venue: str, *, after_send: bool,
              retry_after: float | None = None) -> Exception:
    """ccxt's exception tree onto retry / reconcile / reject, keeping the exchange's words.

    Rate limits mean the request was refused before it was processed: retry. Any other
    failure to get a clean answer (network, timeout, 5xx, unreadable body) after an order
    was sent leaves its outcome unknown: reconcile; on a read nothing happened: retry.
    """
    message = str(error) or type(error).__name__
    code = type(error).__name__
    if isinstance(error, ccxt.DDoSProtection | ccxt.RateLimitExceeded | ccxt.InvalidNonce):
        details = {"retry_after": retry_after} if retry_after is not None else {}
        return VenueRetry(message, venue=venue, venue_code=code, details=details)
    if isinstance(error, ccxt.OperationFailed):
        kind = VenueReconcile if after_send else VenueRetry
        return kind(message, venue=venue, venue_code=code)
    if isinstance(error, ccxt.BaseError):
        return VenueRejected(message, venue=venue, venue_code=code)
    return error
