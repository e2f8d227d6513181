"""The pure kernel <-> ccxt mappings behind CcxtExecution, against ccxt's real classes.

The exchange instances are ccxt's own (no network is touched): their `features` tables are
what decides whether an order type can be expressed, so these tests pin that the decision
follows ccxt's data per exchange rather than a list kept here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt  # type: ignore[import-untyped]  # untyped
import pytest
from hypothesis import given
from hypothesis import strategies as st

from argosy.kernel.errors import VenueReconcile, VenueRejected, VenueRetry
from argosy.kernel.instruments import InstrumentId, InstrumentKind
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import Liquidity, OrderRequest, OrderStatus, OrderType, TimeInForce
from argosy.venues._ccxt_orders import (
    client_id_param,
    create_order_args,
    fill_from_trade,
    instrument_for_symbol,
    map_error,
    report_from_order,
    symbol_for,
)

SPOT = InstrumentId.parse("BTC-USDT.binance")
PERP = InstrumentId.parse("BTC-USDT-PERP.binance")
KRAKEN = InstrumentId.parse("BTC-USD.kraken")
BINANCE = ccxt.binance()
KRAKEN_EX = ccxt.kraken()


def _order(kind: OrderType, iid: InstrumentId = SPOT, price: str | None = "60000",
           **extra: Any) -> OrderRequest:
    stop = extra.pop("stop", None)
    return OrderRequest(client_order_id="c-1", instrument_id=iid, side=Side.BUY, type=kind,
                        quantity=Quantity("0.0015"), price=Price(price) if price else None,
                        stop_price=Price(stop) if stop else None, **extra)


@pytest.mark.parametrize(("text", "symbol"), [("BTC-USDT.binance", "BTC/USDT"),
                                              ("BTC-USDT-PERP.bybit", "BTC/USDT:USDT"),
                                              ("ETH-BTC.kraken", "ETH/BTC")])
def test_instrument_ids_and_symbols_map_both_ways(text: str, symbol: str) -> None:
    iid = InstrumentId.parse(text)
    assert symbol_for(iid) == symbol
    assert instrument_for_symbol(symbol, iid.venue) == iid


@pytest.mark.parametrize("symbol", ["BTC/USD:BTC", "BTC/USDT:USDT-240927", "BTCUSDT",
                                    "btc/usdt", "BTC/USDT:USDT-240927-60000-C"])
def test_symbols_without_a_canonical_id_are_none(symbol: str) -> None:
    assert instrument_for_symbol(symbol, "okx") is None


@given(st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True),
       st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True), st.sampled_from(list(InstrumentKind)))
def test_symbol_round_trip_for_any_assets(base: str, quote: str, kind: InstrumentKind) -> None:
    iid = InstrumentId(base, quote, kind, "bybit")
    assert instrument_for_symbol(symbol_for(iid), "bybit") == iid


def test_client_id_param_per_exchange() -> None:
    assert client_id_param("binance") == "newClientOrderId"
    assert client_id_param("okx") == "clientOrderId"


def test_limit_and_market_orders() -> None:
    limit = create_order_args(BINANCE, "binance", _order(OrderType.LIMIT))
    assert (limit.symbol, limit.type, limit.side, limit.amount, limit.price) == (
        "BTC/USDT", "limit", "buy", "0.0015", "60000")
    assert limit.params == {"newClientOrderId": "c-1"}
    market = create_order_args(BINANCE, "binance", _order(OrderType.MARKET))
    assert (market.type, market.price) == ("market", None)  # a market order sends no price


def test_stops_and_take_profits_use_ccxt_unified_trigger_params() -> None:
    stop = create_order_args(BINANCE, "binance", _order(OrderType.STOP_MARKET, stop="55000"))
    assert (stop.type, stop.params["stopLossPrice"]) == ("market", "55000")
    take = create_order_args(BINANCE, "binance",
                             _order(OrderType.TAKE_PROFIT_LIMIT, stop="65000"))
    assert (take.type, take.price, take.params["takeProfitPrice"]) == ("limit", "60000",
                                                                       "65000")
    with pytest.raises(VenueRejected, match="stop price"):
        create_order_args(BINANCE, "binance", _order(OrderType.STOP_LIMIT))


def test_post_only_ioc_and_reduce_only() -> None:
    post = create_order_args(BINANCE, "binance", _order(OrderType.POST_ONLY))
    assert (post.type, post.params["postOnly"]) == ("limit", True)
    ioc = create_order_args(BINANCE, "binance",
                            _order(OrderType.LIMIT, time_in_force=TimeInForce.IOC))
    assert ioc.params["timeInForce"] == "IOC"
    reduce = create_order_args(BINANCE, "binance", _order(OrderType.MARKET, PERP,
                                                          reduce_only=True))
    assert (reduce.symbol, reduce.params["reduceOnly"]) == ("BTC/USDT:USDT", True)


def test_trailing_follows_the_exchange_features() -> None:
    assert not BINANCE.features["spot"]["createOrder"]["trailing"]
    with pytest.raises(VenueRejected) as caught:
        create_order_args(BINANCE, "binance", _order(OrderType.TRAILING_STOP, price=None,
                                                     trailing_bps=50))
    assert caught.value.venue_code == "unsupported"
    kraken = create_order_args(KRAKEN_EX, "kraken", _order(OrderType.TRAILING_STOP, KRAKEN,
                                                           price=None, trailing_bps=50))
    assert kraken.params == {"clientOrderId": "c-1", "trailingPercent": "0.5"}


@pytest.mark.parametrize("order", [
    _order(OrderType.LIMIT, time_in_force=TimeInForce.GTD, expire_at_ns=1),
    _order(OrderType.MARKET, reduce_only=True),  # reduce-only means nothing on spot
    _order(OrderType.POST_ONLY, time_in_force=TimeInForce.IOC),
    _order(OrderType.LIMIT, price=None),
])
def test_orders_the_exchange_cannot_take_are_refused_before_sending(order: OrderRequest
                                                                    ) -> None:
    with pytest.raises(VenueRejected):
        create_order_args(BINANCE, "binance", order)


def _raw(status: str | None, filled: str = "0", **extra: Any) -> dict[str, Any]:
    return {"id": "42", "clientOrderId": "c-1", "status": status, "filled": filled,
            "average": None, "timestamp": 1_700_000_000_123, "trades": [], **extra}


@pytest.mark.parametrize(("status", "filled", "expected"), [
    ("open", "0", OrderStatus.ACCEPTED), ("open", "0.5", OrderStatus.PARTIALLY_FILLED),
    ("closed", "1", OrderStatus.FILLED), ("canceled", "0.2", OrderStatus.CANCELLED),
    ("expired", "0", OrderStatus.EXPIRED), ("rejected", "0", OrderStatus.REJECTED),
    (None, "0", OrderStatus.SUBMITTED_UNKNOWN)])
def test_order_statuses(status: str | None, filled: str, expected: OrderStatus) -> None:
    report = report_from_order(_raw(status, filled), SPOT, None, 5)
    assert report.status is expected
    assert report.filled_quantity.value == Decimal(filled)
    assert (report.venue_order_id, report.client_order_id) == ("42", "c-1")
    assert report.ts_ns == 1_700_000_000_123_000_000


def test_report_fills_and_average_are_exact() -> None:
    trades = [{"id": "t1", "order": "42", "price": "60000.01", "amount": "0.1",
               "side": "buy", "takerOrMaker": "taker", "timestamp": 1,
               "fee": {"cost": "0.0001", "currency": "BTC"}},
              {"id": "t2", "order": "42", "price": "60000.03", "amount": "0.1",
               "side": "buy", "takerOrMaker": "maker", "timestamp": 2, "fee": None}]
    report = report_from_order(_raw("closed", "0.2", trades=trades, clientOrderId=None),
                               SPOT, "mine", 5)
    assert report.client_order_id == "mine"  # the venue did not echo it back
    assert report.average_price == Price("60000.02")
    assert [f.fill_id for f in report.fills] == ["t1", "t2"]
    first, second = report.fills
    assert (first.fee.value, first.fee_asset, first.liquidity) == (
        Decimal("0.0001"), "BTC", Liquidity.TAKER)
    assert (second.fee.value, second.liquidity) == (Decimal(0), Liquidity.MAKER)
    assert first.ts_ns == 1_000_000


def test_a_trade_missing_its_id_is_not_a_fill() -> None:
    assert fill_from_trade({"price": "1", "amount": "1"}, SPOT, "c") is None


@pytest.mark.parametrize(("error", "after_send", "expected"), [
    (ccxt.RequestTimeout("t"), True, VenueReconcile),
    (ccxt.NetworkError("n"), True, VenueReconcile),
    (ccxt.ExchangeNotAvailable("503"), True, VenueReconcile),
    (ccxt.OnMaintenance("m"), True, VenueReconcile),
    (ccxt.OperationFailed("-1006"), True, VenueReconcile),
    (ccxt.RequestTimeout("t"), False, VenueRetry),
    (ccxt.ExchangeNotAvailable("503"), False, VenueRetry),
    (ccxt.DDoSProtection("429"), True, VenueRetry),
    (ccxt.RateLimitExceeded("-1003"), True, VenueRetry),
    (ccxt.InvalidOrder("bad"), True, VenueRejected),
    (ccxt.InsufficientFunds("Account has insufficient balance"), True, VenueRejected),
    (ccxt.BadSymbol("sym"), True, VenueRejected),
    (ccxt.AuthenticationError("key"), False, VenueRejected),
    (ccxt.PermissionDenied("perm"), True, VenueRejected)])
def test_error_groups(error: Exception, after_send: bool, expected: type) -> None:
    mapped = map_error(error, "okx", after_send=after_send, retry_after=2.0)
    assert type(mapped) is expected
    assert mapped.venue == "okx"  # type: ignore[attr-defined]
    assert str(error) in str(mapped)  # the exchange's message is kept
    assert mapped.venue_code == type(error).__name__  # type: ignore[attr-defined]
    if expected is VenueRetry and isinstance(error, ccxt.DDoSProtection):
        assert mapped.details == {"retry_after": 2.0}  # type: ignore[attr-defined]


def test_non_ccxt_errors_pass_through() -> None:
    error = KeyError("x")
    assert map_error(error, "okx", after_send=True) is error
