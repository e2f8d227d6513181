"""The fake exchange's signed endpoints: parameters in, Binance's JSON shapes out.

Parameter checks follow Binance's order: mandatory parameters (-1102), enumerations
(-1117 side, -1116 type, -1115 timeInForce), the symbol (-1121), precision (-1111) and the
symbol's filters from exchangeInfo (-1013 PRICE_FILTER / LOT_SIZE / NOTIONAL; USD-M -4164
for a notional under the minimum), duplicates of a live client order id (spot -2010
"Duplicate order sent.", USD-M -4116). Queries and cancels of an unknown order answer
-2013 and -2011. Shapes are those of the spot and USD-M docs (FULL / RESULT order answers,
myTrades / userTrades rows, executionReport / ORDER_TRADE_UPDATE / ACCOUNT_UPDATE events).
"""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.replay._accounts import ZERO, ApiKey, TradingAccount
from argosy.venues.replay._matching import LIVE, FakeFill, FakeOrder
from argosy.venues.replay._rest import BinanceError
from argosy.venues.replay._trading_account import account_view
from argosy.venues.replay.exchange_info import FILTER_SOURCES

if TYPE_CHECKING:
    from argosy.venues.replay._trading import TradingDesk

__all__ = ["account_event", "dispatch", "order_event"]

_SPOT_TYPES = {"LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
               "TAKE_PROFIT_LIMIT", "LIMIT_MAKER"}
_USDM_TYPES = {"LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
               "TRAILING_STOP_MARKET"}
_NEEDS_PRICE = {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT", "LIMIT_MAKER", "STOP",
                "TAKE_PROFIT"}
_NEEDS_TIF = {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT", "STOP", "TAKE_PROFIT"}
_NEEDS_STOP = {"STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT", "TAKE_PROFIT", "STOP", "STOP_MARKET",
               "TAKE_PROFIT_MARKET"}


def _f(value: Decimal, spot: bool) -> str:
    return f"{value:.8f}" if spot else f"{value.normalize():f}" if value else "0"


def _missing(name: str) -> BinanceError:
    return BinanceError(400, -1102, f"Mandatory parameter '{name}' was not sent, was "
                                    "empty/null, or malformed.")


def _decimal(params: dict[str, str], name: str) -> Decimal:
    raw = params.get(name, "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BinanceError(400, -1100, f"Illegal characters found in parameter '{name}'; "
                                       "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."
                           ) from None
    if not value.is_finite() or value <= 0:
        raise BinanceError(400, -1013, f"Invalid {name}.")
    if -value.as_tuple().exponent > 8:  # type: ignore[operator]
        raise BinanceError(400, -1111, "Precision is over the maximum defined for this "
                                       "asset.")
    return value


def _symbol(params: dict[str, str], market: BinanceMarket) -> tuple[str, str, str, list[Any]]:
    symbol = params.get("symbol", "")
    if not symbol:
        raise _missing("symbol")
    entry = FILTER_SOURCES.get((market, symbol))
    if entry is None:
        raise BinanceError(400, -1121, "Invalid symbol.")
    base, quote, filters, _ = entry
    return symbol, base, quote, filters


def _check_filters(order: FakeOrder, filters: list[Any], price_hint: Decimal | None) -> None:
    for f in filters:
        kind = f["filterType"]
        if kind == "PRICE_FILTER":
            for value in (order.price, order.stop_price):
                if value and value % Decimal(f["tickSize"]) != 0:
                    raise BinanceError(400, -1013, "Filter failure: PRICE_FILTER")
        elif kind == "LOT_SIZE":
            step, low = Decimal(f["stepSize"]), Decimal(f["minQty"])
            if order.qty % step != 0 or order.qty < low or order.qty > Decimal(f["maxQty"]):
                raise BinanceError(400, -1013, "Filter failure: LOT_SIZE")
        elif kind in ("NOTIONAL", "MIN_NOTIONAL") and not order.reduce_only:
            minimum = Decimal(f.get("minNotional") or f.get("notional") or 0)
            price = order.price or price_hint
            if price is not None and price * order.qty < minimum:
                if order.market is BinanceMarket.USDM:
                    raise BinanceError(400, -4164, "Order's notional must be no smaller than "
                                                   f"{minimum} (unless you choose reduce only).")
                raise BinanceError(400, -1013, "Filter failure: NOTIONAL")


def _new_order(desk: TradingDesk, key: ApiKey, market: BinanceMarket, p: dict[str, str]
               ) -> FakeOrder:
    symbol, base, quote, filters = _symbol(p, market)
    for name in ("side", "type"):
        if not p.get(name):
            raise _missing(name)
    side, kind = p["side"], p["type"]
    if side not in ("BUY", "SELL"):
        raise BinanceError(400, -1117, "Invalid side.")
    spot = market is BinanceMarket.SPOT
    if kind not in (_SPOT_TYPES if spot else _USDM_TYPES):
        raise BinanceError(400, -1116, "Invalid orderType.")
    if "quantity" not in p:
        raise _missing("quantity")
    tif = p.get("timeInForce", "")
    if kind in _NEEDS_TIF and not tif:
        raise _missing("timeInForce")
    if tif and tif not in ("GTC", "IOC", "FOK") + (() if spot else ("GTX", "GTD")):
        raise BinanceError(400, -1115, "Invalid timeInForce.")
    if kind in _NEEDS_PRICE and "price" not in p:
        raise _missing("price")
    trailing = None
    if spot and "trailingDelta" in p:
        trailing = Decimal(int(p["trailingDelta"])) / 10_000
    elif kind == "TRAILING_STOP_MARKET":
        if "callbackRate" not in p:
            raise _missing("callbackRate")
        trailing = Decimal(p["callbackRate"]) / 100
    if kind in _NEEDS_STOP and "stopPrice" not in p and trailing is None:
        raise _missing("stopPrice")
    now = desk.now_ms()
    order = FakeOrder(
        market=market, symbol=symbol, base=base, quote=quote, order_id=desk.new_order_id(),
        client_id=p.get("newClientOrderId") or f"web_{secrets.token_hex(10)}",
        account=key.account, side=side, type=kind, tif=tif or "GTC",
        qty=_decimal(p, "quantity"),
        price=_decimal(p, "price") if "price" in p else ZERO,
        stop_price=_decimal(p, "stopPrice") if "stopPrice" in p else ZERO,
        trailing_delta=trailing,
        activation_price=_decimal(p, "activationPrice") if "activationPrice" in p else
        (_decimal(p, "stopPrice") if trailing is not None and "stopPrice" in p else ZERO),
        reduce_only=p.get("reduceOnly", "false") == "true",
        good_till_ms=int(p.get("goodTillDate", "0")) if tif == "GTD" else 0,
        created_ms=now, updated_ms=now,
    )
    _check_filters(order, filters, desk.matcher.reference_price(market, symbol))
    if _live(desk, market, key.account, symbol, order.client_id) is not None:
        if spot:
            raise BinanceError(400, -2010, "Duplicate order sent.")
        raise BinanceError(400, -4116, "ClientOrderId is duplicated.")
    return order


def _live(desk: TradingDesk, market: BinanceMarket, account: str, symbol: str, client_id: str
          ) -> FakeOrder | None:
    for order in desk.orders.values():
        if (order.market is market and order.account == account and order.symbol == symbol
                and order.client_id == client_id and order.status in LIVE):
            return order
    return None


def _find(desk: TradingDesk, key: ApiKey, market: BinanceMarket, p: dict[str, str],
          hide: bool) -> FakeOrder | None:
    symbol, *_ = _symbol(p, market)
    order_id, client_id = p.get("orderId"), p.get("origClientOrderId")
    if not order_id and not client_id:
        raise BinanceError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, "
                                       "but both were empty/null!")
    found = None
    for order in desk.orders.values():
        if order.market is not market or order.account != key.account or \
                order.symbol != symbol:
            continue
        matches = (order_id and str(order.order_id) == order_id) or (
            client_id and order.client_id == client_id)
        if matches and (found is None or order.order_id > found.order_id):  # latest reuse
            found = order
    if found is not None and hide and desk.faults.hide_new_orders_s > 0 and \
            desk.now_ms() - found.created_ms < desk.faults.hide_new_orders_s * 1000:
        desk.faults.applied.append(f"hid order {found.client_id}")
        return None
    return found


def order_json(order: FakeOrder, now_ms: int, *, answer: bool = False) -> dict[str, Any]:
    spot = order.market is BinanceMarket.SPOT
    f = _f
    if spot:
        body: dict[str, Any] = {
            "symbol": order.symbol, "orderId": order.order_id, "orderListId": -1,
            "clientOrderId": order.client_id, "price": f(order.price, True),
            "origQty": f(order.qty, True), "executedQty": f(order.executed, True),
            "cummulativeQuoteQty": f(order.cum_quote, True), "status": order.status,
            "timeInForce": order.tif, "type": order.type, "side": order.side,
            "workingTime": order.created_ms if order.triggered else -1,
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if order.stop_price:
            body["stopPrice"] = f(order.stop_price, True)
        if order.trailing_delta is not None:
            body["trailingDelta"] = int(order.trailing_delta * 10_000)
        if answer:
            body["transactTime"] = now_ms
        else:
            body |= {"time": order.created_ms, "updateTime": order.updated_ms,
                     "isWorking": order.triggered, "icebergQty": "0.00000000",
                     "origQuoteOrderQty": "0.00000000"}
        return body
    avg = order.cum_quote / order.executed if order.executed else ZERO
    body = {
        "orderId": order.order_id, "symbol": order.symbol, "status": order.status,
        "clientOrderId": order.client_id, "price": f(order.price, False),
        "avgPrice": f(avg, False), "origQty": f(order.qty, False),
        "executedQty": f(order.executed, False), "cumQty": f(order.executed, False),
        "cumQuote": f(order.cum_quote, False), "timeInForce": order.tif, "type": order.type,
        "reduceOnly": order.reduce_only, "closePosition": False, "side": order.side,
        "positionSide": "BOTH", "stopPrice": f(order.stop_price, False),
        "workingType": "CONTRACT_PRICE", "priceProtect": False, "origType": order.type,
        "priceMatch": "NONE", "selfTradePreventionMode": "NONE",
        "goodTillDate": order.good_till_ms, "updateTime": order.updated_ms,
    }
    if order.trailing_delta is not None:
        body["activatePrice"] = f(order.activation_price, False)
        body["priceRate"] = f(order.trailing_delta * 100, False)
    if not answer:
        body["time"] = order.created_ms
    return body


def _spot_fill(fill: FakeFill) -> dict[str, Any]:
    return {"price": _f(fill.price, True), "qty": _f(fill.qty, True),
            "commission": _f(fill.commission, True), "commissionAsset": fill.commission_asset,
            "tradeId": fill.trade_id}


def _trade_row(fill: FakeFill) -> dict[str, Any]:
    o = fill.order
    if o.market is BinanceMarket.SPOT:
        return {"symbol": o.symbol, "id": fill.trade_id, "orderId": o.order_id,
                "orderListId": -1, "price": _f(fill.price, True), "qty": _f(fill.qty, True),
                "quoteQty": _f(fill.price * fill.qty, True),
                "commission": _f(fill.commission, True),
                "commissionAsset": fill.commission_asset, "time": fill.time_ms,
                "isBuyer": o.buy, "isMaker": fill.maker, "isBestMatch": True}
    return {"buyer": o.buy, "commission": _f(fill.commission, False),
            "commissionAsset": fill.commission_asset, "id": fill.trade_id,
            "maker": fill.maker, "orderId": o.order_id, "price": _f(fill.price, False),
            "qty": _f(fill.qty, False), "quoteQty": _f(fill.price * fill.qty, False),
            "realizedPnl": _f(fill.realized, False), "side": o.side, "positionSide": "BOTH",
            "symbol": o.symbol, "time": fill.time_ms}


def order_event(order: FakeOrder, kind: str, fill: FakeFill | None, now_ms: int
                ) -> dict[str, Any]:
    """executionReport (spot) or ORDER_TRADE_UPDATE (USD-M) for one change of `order`."""
    spot = order.market is BinanceMarket.SPOT
    last_qty = fill.qty if fill else ZERO
    last_price = fill.price if fill else ZERO
    common = {
        "s": order.symbol, "S": order.side, "o": order.type, "f": order.tif,
        "q": _f(order.qty, spot), "p": _f(order.price, spot), "x": kind, "X": order.status,
        "i": order.order_id, "l": _f(last_qty, spot), "z": _f(order.executed, spot),
        "L": _f(last_price, spot), "n": _f(fill.commission, spot) if fill else "0",
        "N": fill.commission_asset if fill else None, "T": order.updated_ms,
        "t": fill.trade_id if fill else -1, "m": fill.maker if fill else False,
    }
    if spot:
        cancelled = kind == "CANCELED"
        return {"e": "executionReport", "E": now_ms, **common,
                "c": f"cancel_{order.order_id}" if cancelled else order.client_id,
                "C": order.client_id if cancelled else "",
                "P": _f(order.stop_price, True), "F": "0.00000000", "g": -1, "r": "NONE",
                "I": order.order_id * 2, "w": order.live, "M": False, "O": order.created_ms,
                "Z": _f(order.cum_quote, True), "Y": _f(last_qty * last_price, True),
                "Q": "0.00000000", "W": order.created_ms, "V": "EXPIRE_MAKER"}
    avg = order.cum_quote / order.executed if order.executed else ZERO
    return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": order.updated_ms,
            "o": {**common, "c": order.client_id, "ap": _f(avg, False),
                  "sp": _f(order.stop_price, False), "b": "0", "a": "0",
                  "R": order.reduce_only, "wt": "CONTRACT_PRICE", "ot": order.type,
                  "ps": "BOTH", "cp": False, "rp": _f(fill.realized, False) if fill else "0",
                  "pP": False, "si": 0, "ss": 0, "V": "NONE", "pm": "NONE",
                  "gtd": order.good_till_ms}}


def account_event(account: TradingAccount, order: FakeOrder, now_ms: int) -> dict[str, Any]:
    """outboundAccountPosition (spot) or ACCOUNT_UPDATE (USD-M) after `order` moved."""
    if order.market is BinanceMarket.SPOT:
        return {"e": "outboundAccountPosition", "E": now_ms, "u": now_ms, "B": [
            {"a": asset, "f": _f(account.spot[asset].free, True),
             "l": _f(account.spot[asset].locked, True)} for asset in (order.base, order.quote)]}
    position = account.position(order.symbol)
    return {"e": "ACCOUNT_UPDATE", "E": now_ms, "T": now_ms, "a": {
        "m": "ORDER",
        "B": [{"a": "USDT", "wb": _f(account.wallet["USDT"], False),
               "cw": _f(account.wallet["USDT"], False), "bc": "0"}],
        "P": [{"s": order.symbol, "pa": _f(position.amount, False),
               "ep": _f(position.entry, False), "cr": _f(position.realized, False),
               "up": "0", "mt": "cross", "iw": "0", "ps": "BOTH"}]}}


def dispatch(desk: TradingDesk, key: ApiKey, market: BinanceMarket, method: str,
             endpoint: str, p: dict[str, str]) -> Any:
    spot = market is BinanceMarket.SPOT
    if endpoint in ("userDataStream", "listenKey"):
        listen_key = p.get("listenKey") if spot else None
        if spot and method != "POST" and not listen_key:
            raise _missing("listenKey")
        if method == "POST":
            return {"listenKey": desk.listen_keys.create(key.key, market)}
        if method == "PUT":
            found = desk.listen_keys.keep_alive(key.key, market, listen_key)
            return {} if spot else {"listenKey": found}
        desk.listen_keys.close(key.key, market, listen_key)
        return {}
    if endpoint == "order":
        if method == "POST":
            order = _new_order(desk, key, market, p)
            desk.matcher.place(order)
            body = order_json(order, desk.now_ms(), answer=True)
            if spot:
                fills = desk.fills.get((market, order.account, order.symbol), [])
                body["fills"] = [_spot_fill(f) for f in fills if f.order is order]
            return body
        target = _find(desk, key, market, p, hide=method == "GET")
        if target is None:
            if method == "GET":
                raise BinanceError(400, -2013, "Order does not exist.")
            raise BinanceError(400, -2011, "Unknown order sent.")
        if method == "DELETE":
            if not target.live:
                raise BinanceError(400, -2011, "Unknown order sent.")
            desk.matcher.finish(target, "CANCELED")
            body = order_json(target, desk.now_ms(), answer=True)
            if spot:
                body["origClientOrderId"] = target.client_id
                body["clientOrderId"] = p.get("newClientOrderId") or f"cancel_{target.order_id}"
            return body
        return order_json(target, desk.now_ms())
    if endpoint in ("openOrders", "allOpenOrders"):
        symbol = p.get("symbol")
        if symbol:
            _symbol(p, market)
        chosen = sorted((o for o in desk.orders.values()
                         if o.market is market and o.account == key.account and o.live
                         and (not symbol or o.symbol == symbol)), key=lambda o: o.order_id)
        if method == "DELETE":
            for order in chosen:
                desk.matcher.finish(order, "CANCELED")
            return [order_json(o, desk.now_ms(), answer=True) for o in chosen] if spot else \
                {"code": 200, "msg": "The operation of cancel all open order is done."}
        return [order_json(o, desk.now_ms()) for o in chosen]
    if endpoint in ("myTrades", "userTrades"):
        symbol, *_ = _symbol(p, market)
        rows = desk.fills.get((market, key.account, symbol), [])
        limit = min(int(p.get("limit", "500")), 1000)
        if "fromId" in p:
            rows = [r for r in rows if r.trade_id >= int(p["fromId"])]
        else:
            start, end = int(p.get("startTime", "0")), int(p.get("endTime", str(1 << 62)))
            rows = [r for r in rows if start <= r.time_ms <= end]
        return [_trade_row(r) for r in rows[:limit]]
    return account_view(desk, key, market, method, endpoint, p)
