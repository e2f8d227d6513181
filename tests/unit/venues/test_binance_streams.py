"""Stream names are built and parsed exactly as Binance spells them."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Invalid
from argosy.venues.binance.streams import (
    StreamKind,
    agg_trade_stream,
    book_ticker_stream,
    depth_stream,
    kline_stream,
    parse_stream,
    trade_stream,
)


def test_builders_spell_binance_names() -> None:
    assert trade_stream("BTCUSDT") == "btcusdt@trade"
    assert agg_trade_stream("btcusdt") == "btcusdt@aggTrade"
    assert kline_stream("ETHUSDT", "1m") == "ethusdt@kline_1m"
    assert book_ticker_stream("BTCUSDT") == "btcusdt@bookTicker"
    assert depth_stream("BTCUSDT") == "btcusdt@depth@100ms"
    assert depth_stream("BTCUSDT", "1000ms") == "btcusdt@depth"


@pytest.mark.parametrize(
    "name",
    ["btcusdt@trade", "btcusdt@aggTrade", "btcusdt@kline_1M", "btcusdt@bookTicker",
     "btcusdt@depth", "btcusdt@depth@100ms", "btcusdt@depth@0ms", "btcusd_perp@trade"],
)
def test_round_trip(name: str) -> None:
    assert str(parse_stream(name)) == name


def test_parse_reports_kind_and_symbol() -> None:
    parsed = parse_stream("ethusdt@kline_15m")
    assert (parsed.symbol, parsed.kind, parsed.param) == ("ETHUSDT", StreamKind.KLINE, "15m")


@pytest.mark.parametrize(
    "name", ["BTCUSDT@trade", "btcusdt@trades", "btcusdt", "btcusdt@kline_7m",
             "btcusdt@depth@10ms", "@trade", "btc usdt@trade"],
)
def test_refuses_what_binance_would_refuse(name: str) -> None:
    with pytest.raises(Invalid):
        parse_stream(name)


def test_builders_validate() -> None:
    with pytest.raises(Invalid):
        kline_stream("BTCUSDT", "2m")
    with pytest.raises(Invalid):
        depth_stream("BTCUSDT", "10ms")
    with pytest.raises(Invalid):
        trade_stream("BTC/USDT")
