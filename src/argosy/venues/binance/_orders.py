"""Kernel orders to Binance order parameters, and Binance order and trade rows back.

One table per market, because spot and USD-M name the same order differently:

| kernel            | spot                              | USD-M                           |
|-------------------|-----------------------------------|---------------------------------|
| market            | MARKET                            | MARKET                          |
| limit             | LIMIT + timeInForce               | LIMIT + timeInForce             |
| stop_market       | STOP_LOSS + stopPrice             | STOP_MARKET + stopPrice         |
| stop_limit        | STOP_LOSS_LIMIT                   | STOP                            |
| take_profit       | TAKE_PROFIT + stopPrice           | TAKE_PROFIT_MARKET              |
| take_profit_limit | TAKE_PROFIT_LIMIT                 | TAKE_PROFIT                     |
| trailing_stop     | STOP_LOSS + trailingDelta (bips)  | TRAILING_STOP_MARKET + callbackRate (%) |
| post_only         | LIMIT_MAKER                       | LIMIT + timeInForce=GTX         |

GTD exists only on USD-M (`goodTillDate`, ms); reduce-only only on USD-M. What a market
cannot express is refused here, before sending, rather than silently changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from argosy.kernel.clock import NS_PER_MS
from argosy.kernel.errors import VenueRejected
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
from argosy.venues.binance.markets import BinanceMarket

__all__ = [
    "STATUS",
    "fill_from_trade",
    "market_of",
    "order_params",
    "report_from_order",
    "symbol_of",
]

STATUS: dict[str, OrderStatus] = {
    "NEW": OrderStatus.ACCEPTED,
    "PENDING_NEW": OrderStatus.ACCEPTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "PENDING_CANCEL": OrderStatus.ACCEPTED,  # still live until the cancel lands
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,  # self-trade prevention
    "NEW_INSURANCE": OrderStatus.FILLED,  # USD-M liquidation fills
    "NEW_ADL": OrderStatus.FILLED,
}

_SPOT_TYPES = {
    OrderType.MARKET: "MARKET", OrderType.LIMIT: "LIMIT", OrderType.STOP_MARKET: "STOP_LOSS",
    OrderType.STOP_LIMIT: "STOP_LOSS_LIMIT", OrderType.TAKE_PROFIT: "TAKE_PROFIT",
    OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT_LIMIT", OrderType.TRAILING_STOP: "STOP_LOSS",
    OrderType.POST_ONLY: "LIMIT_MAKER",
}
_USDM_TYPES = {
    OrderType.MARKET: "MARKET", OrderType.LIMIT: "LIMIT", OrderType.STOP_MARKET: "STOP_MARKET",
    OrderType.STOP_LIMIT: "STOP", OrderType.TAKE_PROFIT: "TAKE_PROFIT_MARKET",
    OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT", OrderType.TRAILING_STOP: "TRAILING_STOP_MARKET",
    OrderType.POST_ONLY: "LIMIT",
}
_WITH_PRICE = {OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT,
               OrderType.POST_ONLY}
_WITH_STOP = {OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT,
              OrderType.TAKE_PROFIT_LIMIT}
_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
        TimeInForce.GTD: "GTD"}


def market_of(instrument_id: InstrumentId) -> BinanceMarket:
    return BinanceMarket.SPOT if instrument_id.kind is InstrumentKind.SPOT else BinanceMarket.USDM


def symbol_of(instrument_id: InstrumentId) -> str:
    return f"{instrument_id.base}{instrument_id.quote}"


def _refuse(message: str, field: str) -> VenueRejected:
    return VenueRejected(message, venue="binance", venue_code="unsupported", field=field)


def order_params(order: OrderRequest) -> list[tuple[str, str]]:
    """The order as Binance parameters, in a stable order (the signature covers them)."""
    market = market_of(order.instrument_id)
    spot = market is BinanceMarket.SPOT
    kind = order.type
    params: list[tuple[str, str]] = [
        ("symbol", symbol_of(order.instrument_id)),
        ("side", order.side.value.upper()),
        ("type", (_SPOT_TYPES if spot else _USDM_TYPES)[kind]),
        ("quantity", order.quantity.to_str()),
    ]
    if kind in _WITH_PRICE:
        if order.price is None:
            raise _refuse(f"a {kind.value} order needs a price", "price")
        params.append(("price", order.price.to_str()))
    if kind in _WITH_STOP:
        if order.stop_price is None:
            raise _refuse(f"a {kind.value} order needs a stop_price", "stop_price")
        params.append(("stopPrice", order.stop_price.to_str()))
    if kind is OrderType.TRAILING_STOP:
        params.extend(_trailing(order, spot))
    params.extend(_time_in_force(order, spot))
    if order.reduce_only:
        if spot:
            raise _refuse("spot orders cannot be reduce-only", "reduce_only")
        params.append(("reduceOnly", "true"))
    params.append(("newClientOrderId", order.client_order_id))
    if spot:
        params.append(("newOrderRespType", "FULL"))  # fills in the answer to the send
    else:
        params.append(("newOrderRespType", "RESULT"))
    return params


def _trailing(order: OrderRequest, spot: bool) -> list[tuple[str, str]]:
    bps = order.trailing_bps
    if bps is None or bps <= 0:
        raise _refuse("a trailing_stop order needs trailing_bps > 0", "trailing_bps")
    out: list[tuple[str, str]] = []
    if spot:
        out.append(("trailingDelta", str(bps)))  # spot counts in basis points
        if order.stop_price is not None:
            out.append(("stopPrice", order.stop_price.to_str()))  # activation price
        return out
    rate = Decimal(bps) / 100  # USD-M counts in percent, 0.1 to 10 in steps of 0.1
    if rate * 10 != int(rate * 10) or not Decimal("0.1") <= rate <= 10:
        raise _refuse("USD-M trailing stops need 10..1000 bps in steps of 10", "trailing_bps")
    out.append(("callbackRate", f"{rate.normalize():f}"))
    if order.stop_price is not None:
        out.append(("activationPrice", order.stop_price.to_str()))
    return out


def _time_in_force(order: OrderRequest, spot: bool) -> list[tuple[str, str]]:
    kind, tif = order.type, order.time_in_force
    if kind is OrderType.POST_ONLY:
        return [] if spot else [("timeInForce", "GTX")]
    if kind not in _WITH_PRICE:
        if tif not in (TimeInForce.GTC,):
            raise _refuse(f"{tif.value} applies to limit orders only", "time_in_force")
        return []
    if tif is TimeInForce.GTD:
        if spot:
            raise _refuse("Binance spot has no GTD orders", "time_in_force")
        if order.expire_at_ns is None:
            raise _refuse("a GTD order needs expire_at_ns", "expire_at_ns")
        return [("timeInForce", "GTD"), ("goodTillDate", str(order.expire_at_ns // NS_PER_MS))]
    return [("timeInForce", _TIF[tif])]


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def report_from_order(
    body: Mapping[str, Any], instrument_id: InstrumentId, fee_asset_default: str = ""
) -> ExecutionReport:
    """An order object (answer to send, cancel or query) as an `ExecutionReport`.

    Spot FULL answers carry the fills of a taking order; they become `VenueFill`s with
    Binance's trade ids. USD-M answers never carry fills (they arrive on the stream and
    through userTrades).
    """
    executed = _dec(body.get("executedQty"))
    average: Price | None = None
    if executed > 0:
        avg = _dec(body.get("avgPrice"))
        if avg <= 0:  # spot: cumulative quote / executed
            avg = _dec(body.get("cummulativeQuoteQty")) / executed
        average = Price(avg)
    ts_ms = body.get("updateTime") or body.get("transactTime") or body.get("time") or 0
    side = Side(str(body.get("side", "BUY")).lower())
    # A spot cancel answers with the cancel's own id in clientOrderId, the order's in orig.
    client_id = str(body.get("origClientOrderId") or body.get("clientOrderId") or "")
    order_id = str(body["orderId"]) if body.get("orderId") is not None else None
    fills = tuple(
        VenueFill(
            fill_id=str(f.get("tradeId")), client_order_id=client_id,
            venue_order_id=order_id or "", instrument_id=instrument_id, side=side,
            price=Price(_dec(f["price"])), quantity=Quantity(_dec(f["qty"])),
            fee=Quantity(_dec(f.get("commission"))),
            fee_asset=str(f.get("commissionAsset") or fee_asset_default),
            liquidity=Liquidity.TAKER, ts_ns=int(ts_ms) * NS_PER_MS,
        )
        for f in body.get("fills") or ()
    )
    return ExecutionReport(
        client_order_id=client_id, venue_order_id=order_id, instrument_id=instrument_id,
        status=STATUS.get(str(body.get("status")), OrderStatus.ACCEPTED),
        filled_quantity=Quantity(executed), average_price=average,
        ts_ns=int(ts_ms) * NS_PER_MS, fills=fills,
    )


def fill_from_trade(row: Mapping[str, Any], instrument_id: InstrumentId, client_order_id: str
                    ) -> VenueFill:
    """A myTrades (spot) or userTrades (USD-M) row."""
    if "isBuyer" in row:
        side = Side.BUY if row["isBuyer"] else Side.SELL
        maker = bool(row.get("isMaker"))
    else:
        side = Side(str(row["side"]).lower())
        maker = bool(row.get("maker"))
    return VenueFill(
        fill_id=str(row["id"]), client_order_id=client_order_id,
        venue_order_id=str(row["orderId"]), instrument_id=instrument_id, side=side,
        price=Price(_dec(row["price"])), quantity=Quantity(_dec(row["qty"])),
        fee=Quantity(abs(_dec(row.get("commission")))),
        fee_asset=str(row.get("commissionAsset", "")),
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        ts_ns=int(row["time"]) * NS_PER_MS,
    )
