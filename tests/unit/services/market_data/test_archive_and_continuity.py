"""Archive rows read as Binance publishes them; gap bookkeeping; instrument routing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.services.market_data.domain.archive import kline_rows, parse_name, trade_rows
from argosy.services.market_data.domain.continuity import (
    Cause,
    DayStats,
    cause_of_alarm,
    day_report,
    holes,
)
from argosy.services.market_data.domain.routing import route


def test_archive_names() -> None:
    name = parse_name("BTCUSDT-trades-2024-08-08.zip")
    assert (name.symbol, name.kind, name.period, name.is_klines) == (
        "BTCUSDT", "trades", "2024-08-08", False)
    assert parse_name("XRPETH-aggTrades-2019-10.zip").kind == "aggTrades"
    assert parse_name("BTCUSDT-1m-2024-08-08.csv").is_klines
    with pytest.raises(Invalid):
        parse_name("btcusdt_trades.csv")


def test_trade_rows_spot_futures_and_microseconds() -> None:
    spot = list(trade_rows([["5", "61837.63", "0.02", "1236.75", "1723161255342", "True",
                             "True"]], "trades"))
    assert spot[0].trade_id == 5
    assert spot[0].ts_ns == 1723161255342 * 10**6
    assert spot[0].buyer_maker is True
    futures = list(trade_rows([["id", "price", "qty", "quote_qty", "time", "is_buyer_maker"],
                               ["7", "1.5", "2", "3", "1723161255342", "false"]], "trades"))
    assert [(t.trade_id, t.price, t.buyer_maker) for t in futures] == [(7, Decimal("1.5"),
                                                                         False)]
    micro = list(trade_rows([["1", "1", "1", "5", "6", "1735689600123456", "true", "true"]],
                            "aggTrades"))
    assert micro[0].ts_ns == 1735689600123456000
    with pytest.raises(Invalid, match="row 1"):
        list(trade_rows([["1", "x", "1", "1", "1", "True", "True"]], "trades"))
    with pytest.raises(Invalid, match="True/False"):
        list(trade_rows([["1", "1", "1", "1", "1", "maybe", "True"]], "trades"))
    rows = list(kline_rows([["1570752000000", "0.1", "0.2", "0.05", "0.15", "10", "x"]]))
    assert rows[0][0] == 1570752000000 * 10**6
    assert rows[0][1][4] == Decimal("10")


def test_holes_and_the_day_report() -> None:
    assert holes([1, 2, 5, 6, 9]) == [(3, 4), (7, 8)]
    assert holes([3, 4], first=1, last=6) == [(1, 2), (5, 6)]
    stats = DayStats("2024-08-08", trades=7, first_id=1, last_id=9, distinct_ids=7,
                     holes=((3, 4),))
    open_gap = {"status": "open"}
    report = day_report(stats, [open_gap], 0)
    assert report["missing_trade_ids"] == 2
    assert report["complete"] is False
    full = DayStats("2024-08-08", trades=9, first_id=1, last_id=9, distinct_ids=9)
    assert day_report(full, [{"status": "repaired"}], 0)["complete"] is True
    assert day_report(full, [], 1)["complete"] is False
    assert cause_of_alarm("disconnected")[0] is Cause.RECONNECT  # type: ignore[index]
    assert cause_of_alarm("rest_error") is None


def test_routing() -> None:
    spot = route(InstrumentId.parse("BTC-USDT.binance"))
    perp = route(InstrumentId.parse("BTC-USDT-PERP.binance"))
    other = route(InstrumentId.parse("ETH-USD-PERP.kraken"))
    assert (spot.market, spot.symbol, spot.native) == ("spot", "BTCUSDT", True)
    assert (perp.market, perp.symbol) == ("usdm", "BTCUSDT")
    assert (other.market, other.symbol, other.native) == ("swap", "ETH/USD:USD", False)
