"""Recorded Binance payloads become kernel messages with canonical ids; bad ones are named."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval, Side
from argosy.kernel.money import Price, Quantity
from argosy.venues.binance.normalize import (
    agg_trade_tick,
    book_deltas,
    kline_bar,
    kline_row_bar,
    quote_tick,
    rest_trade_tick,
    trade_tick,
)
from argosy.venues.binance.payloads import MalformedMessage, parse_depth_diff
from tests.support.binance_data import stream_events

SPOT_ID = InstrumentId.parse("BTC-USDT.binance")
PERP_ID = InstrumentId.parse("BTC-USDT-PERP.binance")


def first(file: str, event: str, **match: Any) -> dict[str, Any]:
    return next(d for _, _, d in stream_events(file) if d.get("e", "bookTicker") == event
                and all(d.get(k) == v for k, v in match.items())
                and (event != "bookTicker" or "b" in d))


def test_spot_trade() -> None:
    data = first("binance_spot_BTCUSDT_20240808.jsonl.gz", "trade")
    tick = trade_tick(data, SPOT_ID, 123)
    assert tick.price == Price(data["p"])
    assert tick.quantity == Quantity(data["q"])
    assert tick.trade_id == str(data["t"])
    assert tick.aggressor_side is (Side.SELL if data["m"] else Side.BUY)
    assert tick.ts_event_ns == data["T"] * 1_000_000
    assert tick.ts_recv_ns == 123
    assert str(tick.instrument_id) == "BTC-USDT.binance"


def test_futures_trade_and_book_ticker() -> None:
    data = first("binance_usdm_BTCUSDT_20240808.jsonl.gz", "trade")
    assert trade_tick(data, PERP_ID, 1).instrument_id == PERP_ID
    quote = first("binance_usdm_BTCUSDT_20240808.jsonl.gz", "bookTicker")
    tick = quote_tick(quote, PERP_ID, 5)
    assert tick.bid_price == Price(quote["b"])
    assert tick.ask_qty == Quantity(quote["A"])
    assert tick.ts_event_ns == quote["T"] * 1_000_000


def test_spot_book_ticker_has_no_event_time() -> None:
    quote = next(d for _, s, d in stream_events("binance_spot_BTCUSDT_20240808.jsonl.gz")
                 if s.endswith("@bookTicker"))
    assert "E" not in quote
    assert "T" not in quote
    assert quote_tick(quote, SPOT_ID, 77).ts_event_ns == 77


def test_agg_trade_and_closed_kline() -> None:
    file = "cryptofeed_binance_usdm_20210722.jsonl"
    agg = first(file, "aggTrade")
    iid = InstrumentId.parse(f"{agg['s'][:-4]}-USDT-PERP.binance")
    tick = agg_trade_tick(agg, iid, 0)
    assert tick.trade_id == str(agg["a"])
    closed = next(d for _, _, d in stream_events(file) if d.get("e") == "kline" and d["k"]["x"])
    bar = kline_bar(closed, iid)
    assert bar is not None
    assert bar.interval is Interval.M1
    assert bar.ts_close_ns - bar.ts_open_ns == 60 * 10**9
    assert bar.volume == Quantity(closed["k"]["v"])
    still_open = next(d for _, _, d in stream_events(file)
                      if d.get("e") == "kline" and not d["k"]["x"])
    assert kline_bar(still_open, iid) is None


def test_depth_diff_to_deltas() -> None:
    data = first("binance_spot_BTCUSDT_20240808.jsonl.gz", "depthUpdate")
    deltas = book_deltas(parse_depth_diff(data), SPOT_ID, 9)
    assert len(deltas) == len(data["b"]) + len(data["a"])
    assert {d.sequence for d in deltas} == {data["u"]}
    assert deltas[0].side is Side.BUY
    assert deltas[-1].side is Side.SELL
    assert deltas[0].price.value == Decimal(data["b"][0][0])


def test_rest_rows() -> None:
    row = {"id": 3735683259, "price": "61837.63000000", "qty": "0.02000000",
           "time": 1723161255342, "isBuyerMaker": True, "isBestMatch": True}
    tick = rest_trade_tick(row, SPOT_ID, 0)
    assert (tick.trade_id, tick.aggressor_side) == ("3735683259", Side.SELL)
    bar = kline_row_bar([1570752000000, "0.00141342", "0.00141557", "0.00141266",
                         "0.00141418", "1482.0", 1570752059999], SPOT_ID, Interval.M1)
    assert bar.high == Price("0.00141557")


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"e": "trade", "t": 1, "p": "abc", "q": "1", "T": 1, "m": True}, "trade"),
        ({"e": "trade", "t": "1", "p": "1", "q": "1", "T": 1, "m": True}, "trade"),
        ({"e": "trade", "t": 1, "p": "1", "q": "-1", "T": 1, "m": True}, "trade"),
        ({"e": "trade", "t": 1, "p": "1", "q": "1", "T": 1, "m": "yes"}, "trade"),
        ({"e": "trade", "t": 1, "p": 1.5, "q": "1", "T": 1, "m": True}, "trade"),
    ],
)
def test_malformed_trades_are_named(payload: dict[str, Any], kind: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        trade_tick(payload, SPOT_ID, 0)
    assert caught.value.kind == kind


@pytest.mark.parametrize(
    "payload",
    [
        {"e": "depthUpdate", "E": 1, "s": "X", "U": 5, "u": 4, "b": [], "a": []},
        {"e": "depthUpdate", "E": 1, "s": "X", "U": 1, "u": 2, "b": [["1"]], "a": []},
        {"e": "depthUpdate", "E": 1, "s": "X", "U": 1, "u": 2, "b": [["NaN", "1"]], "a": []},
        {"e": "depthUpdate", "E": 1, "s": "X", "U": 1, "u": 2, "pu": "1", "b": [], "a": []},
        {"e": "depthUpdate", "E": 1, "U": 1, "u": 2, "b": [], "a": []},
    ],
)
def test_malformed_depth(payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedMessage) as caught:
        parse_depth_diff(payload)
    assert caught.value.kind == "depthUpdate"


def test_kline_with_an_interval_the_kernel_lacks() -> None:
    data = {"e": "kline", "k": {"t": 0, "i": "3m", "x": True, "o": "1", "h": "1", "l": "1",
                                "c": "1", "v": "1"}}
    with pytest.raises(MalformedMessage):
        kline_bar(data, SPOT_ID)
