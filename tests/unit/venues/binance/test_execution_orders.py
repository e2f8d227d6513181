"""Kernel orders to Binance parameters, Binance answers and stream events back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from argosy.kernel.errors import VenueRejected
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import (
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from argosy.venues.binance._orders import fill_from_trade, order_params, report_from_order
from argosy.venues.binance.user_stream import report_from_event

SPOT = InstrumentId.parse("BTC-USDT.binance")
PERP = InstrumentId.parse("BTC-USDT-PERP.binance")


def _req(iid: InstrumentId, kind: OrderType, **kw: object) -> OrderRequest:
    return OrderRequest("cid-1", iid, Side.SELL, kind, Quantity("0.5"), **kw)  # type: ignore[arg-type]


def _p(order: OrderRequest) -> dict[str, str]:
    return dict(order_params(order))


@pytest.mark.parametrize(("kind", "extra", "spot", "usdm"), [
    (OrderType.MARKET, {}, {"type": "MARKET"}, {"type": "MARKET"}),
    (OrderType.LIMIT, {"price": Price("100")},
     {"type": "LIMIT", "timeInForce": "GTC", "price": "100"},
     {"type": "LIMIT", "timeInForce": "GTC", "price": "100"}),
    (OrderType.STOP_MARKET, {"stop_price": Price("90")},
     {"type": "STOP_LOSS", "stopPrice": "90"}, {"type": "STOP_MARKET", "stopPrice": "90"}),
    (OrderType.STOP_LIMIT, {"price": Price("89"), "stop_price": Price("90")},
     {"type": "STOP_LOSS_LIMIT", "price": "89", "stopPrice": "90", "timeInForce": "GTC"},
     {"type": "STOP", "price": "89", "stopPrice": "90", "timeInForce": "GTC"}),
    (OrderType.TAKE_PROFIT, {"stop_price": Price("110")},
     {"type": "TAKE_PROFIT", "stopPrice": "110"},
     {"type": "TAKE_PROFIT_MARKET", "stopPrice": "110"}),
    (OrderType.TAKE_PROFIT_LIMIT, {"price": Price("111"), "stop_price": Price("110")},
     {"type": "TAKE_PROFIT_LIMIT", "price": "111"}, {"type": "TAKE_PROFIT", "price": "111"}),
    (OrderType.TRAILING_STOP, {"trailing_bps": 50},
     {"type": "STOP_LOSS", "trailingDelta": "50"},
     {"type": "TRAILING_STOP_MARKET", "callbackRate": "0.5"}),
    (OrderType.POST_ONLY, {"price": Price("100")},
     {"type": "LIMIT_MAKER", "price": "100"}, {"type": "LIMIT", "timeInForce": "GTX"}),
])
def test_order_types_map_per_market(kind: OrderType, extra: dict[str, object],
                                    spot: dict[str, str], usdm: dict[str, str]) -> None:
    spot_params, usdm_params = _p(_req(SPOT, kind, **extra)), _p(_req(PERP, kind, **extra))
    assert spot.items() <= spot_params.items()
    assert usdm.items() <= usdm_params.items()
    for params in (spot_params, usdm_params):
        assert params["symbol"] == "BTCUSDT"
        assert params["side"] == "SELL"
        assert params["quantity"] == "0.5"
        assert params["newClientOrderId"] == "cid-1"
    if kind is OrderType.POST_ONLY:
        assert "timeInForce" not in spot_params  # LIMIT_MAKER takes none


def test_time_in_force_gtd_and_reduce_only() -> None:
    gtd = _p(_req(PERP, OrderType.LIMIT, price=Price("1"), time_in_force=TimeInForce.GTD,
                  expire_at_ns=1_700_000_000_123_456_789))
    assert gtd["timeInForce"] == "GTD"
    assert gtd["goodTillDate"] == "1700000000123"
    assert _p(_req(PERP, OrderType.MARKET, reduce_only=True))["reduceOnly"] == "true"
    fok = _p(_req(SPOT, OrderType.LIMIT, price=Price("1"), time_in_force=TimeInForce.FOK))
    assert fok["timeInForce"] == "FOK"
    for bad in (_req(SPOT, OrderType.LIMIT, price=Price("1"), time_in_force=TimeInForce.GTD,
                     expire_at_ns=1),
                _req(SPOT, OrderType.MARKET, reduce_only=True),
                _req(PERP, OrderType.TRAILING_STOP, trailing_bps=15),  # 0.15 %: off step
                _req(SPOT, OrderType.LIMIT)):  # no price
        with pytest.raises(VenueRejected):
            order_params(bad)


def test_spot_full_answer_and_cancel_answer() -> None:
    body = {"symbol": "BTCUSDT", "orderId": 28, "clientOrderId": "cid-1",
            "transactTime": 1507725176595, "price": "0.00000000", "origQty": "10.00000000",
            "executedQty": "10.00000000", "cummulativeQuoteQty": "10.00000000",
            "status": "FILLED", "type": "MARKET", "side": "SELL",
            "fills": [{"price": "4000.00000000", "qty": "1.00000000", "commission": "4.0",
                       "commissionAsset": "USDT", "tradeId": 56},
                      {"price": "3999.00000000", "qty": "9.00000000", "commission": "35.99",
                       "commissionAsset": "USDT", "tradeId": 57}]}
    report = report_from_order(body, SPOT)
    assert report.status is OrderStatus.FILLED
    assert report.venue_order_id == "28"
    assert report.average_price == Price("1")
    assert [f.fill_id for f in report.fills] == ["56", "57"]
    assert report.fills[1].fee == Quantity("35.99")
    assert report.fills[1].side is Side.SELL
    cancel = report_from_order({"symbol": "BTCUSDT", "origClientOrderId": "cid-1",
                                "orderId": 4, "clientOrderId": "cancelMyOrder1",
                                "executedQty": "0", "status": "CANCELED", "side": "BUY"}, SPOT)
    assert cancel.client_order_id == "cid-1"
    assert cancel.status is OrderStatus.CANCELLED


def test_usdm_answer_uses_avg_price() -> None:
    report = report_from_order({"orderId": 7, "clientOrderId": "c", "executedQty": "0.002",
                                "avgPrice": "61800.5", "status": "PARTIALLY_FILLED",
                                "side": "BUY", "updateTime": 1}, PERP)
    assert report.average_price == Price("61800.5")
    assert report.status is OrderStatus.PARTIALLY_FILLED


def test_stream_events_become_reports_with_fills() -> None:
    spot_event = {"e": "executionReport", "E": 1, "s": "BTCUSDT", "c": "cid-1", "S": "BUY",
                  "o": "LIMIT", "x": "TRADE", "X": "PARTIALLY_FILLED", "r": "NONE", "i": 9,
                  "l": "0.1", "z": "0.3", "L": "100.5", "n": "0.0001", "N": "BTC",
                  "T": 1700000000000, "t": 77, "m": True, "C": "", "Z": "30.15"}
    report = report_from_event(spot_event, {"BTCUSDT": SPOT}.get)
    assert report is not None
    assert report.status is OrderStatus.PARTIALLY_FILLED
    assert report.average_price == Price("100.5")
    assert report.filled_quantity == Quantity("0.3")
    [fill] = report.fills
    assert (fill.fill_id, fill.liquidity, fill.fee_asset) == ("77", Liquidity.MAKER, "BTC")
    cancelled = report_from_event({**spot_event, "x": "CANCELED", "X": "CANCELED",
                                   "c": "cancel-req", "C": "cid-1"}, {"BTCUSDT": SPOT}.get)
    assert cancelled is not None
    assert cancelled.client_order_id == "cid-1"
    assert not cancelled.fills
    futures_event = {"e": "ORDER_TRADE_UPDATE", "E": 1, "T": 2, "o": {
        "s": "BTCUSDT", "c": "f-1", "S": "SELL", "o": "MARKET", "x": "TRADE", "X": "FILLED",
        "i": 3, "l": "0.01", "z": "0.01", "L": "61000", "ap": "61000", "n": "0.305",
        "N": "USDT", "T": 5, "t": 8, "m": False}}
    futures = report_from_event(futures_event, {"BTCUSDT": PERP}.get)
    assert futures is not None
    assert futures.status is OrderStatus.FILLED
    assert futures.fills[0].liquidity is Liquidity.TAKER
    assert futures.fills[0].ts_ns == 5_000_000
    assert report_from_event({"e": "ACCOUNT_UPDATE"}, {"BTCUSDT": PERP}.get) is None


def test_trade_rows_of_both_markets() -> None:
    spot = fill_from_trade({"id": 1, "orderId": 2, "price": "10", "qty": "1",
                            "commission": "0.001", "commissionAsset": "BTC", "time": 3,
                            "isBuyer": True, "isMaker": False}, SPOT, "cid")
    assert spot.side is Side.BUY
    assert spot.liquidity is Liquidity.TAKER
    usdm = fill_from_trade({"id": 1, "orderId": 2, "price": "10", "qty": "1", "side": "SELL",
                            "commission": "-0.01", "commissionAsset": "USDT", "time": 3,
                            "maker": True}, PERP, "cid")
    assert usdm.side is Side.SELL
    assert usdm.liquidity is Liquidity.MAKER
    assert usdm.fee.value == Decimal("0.01")
