"""Query parsing: times, ranges, limits and cursors."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.market_data.domain.queries import (
    CandleQuery,
    Limits,
    TradeQuery,
    decode_cursor,
    encode_cursor,
    parse_time,
)

L = Limits()
T0 = 1723161255342000000


def test_times_in_every_accepted_form() -> None:
    assert parse_time(str(T0), "start") == T0
    assert parse_time("2024-08-08", "start") == 1723075200 * 10**9
    assert parse_time("2024-08-08T23:54:15.342Z", "start") == T0
    assert parse_time(None, "start") is None
    with pytest.raises(Invalid, match="milliseconds") as info:
        parse_time("1723161255342", "start")
    assert info.value.field == "start"
    with pytest.raises(Invalid):
        parse_time("2024-13-40", "end")


def test_candle_ranges_and_limits() -> None:
    q = CandleQuery.parse("BTC-USDT.binance", "1m", "2024-08-08", "2024-08-09", 10, None, L)
    assert (q.limit, q.interval.value) == (10, "1m")
    cursor = q.next_cursor(q.start + 60 * 10**9, 10)  # type: ignore[operator]
    assert cursor is not None
    again = CandleQuery.parse("BTC-USDT.binance", "1m", "2024-08-08", "2024-08-09", 10, cursor,
                              L)
    assert again.start == q.start + 60 * 10**9 + 1  # type: ignore[operator]
    assert q.next_cursor(0, 9) is None  # a short page is the last
    for args, field in (
        (("BTC-USDT.binance", "7m", None, None, None, None), "interval"),
        (("BTC-USDT.binance", "1s", "2014-01-01", "2024-01-01", None, None), "end"),
        (("BTC-USDT.binance", "1m", "2024-08-09", "2024-08-08", None, None), "start"),
        (("BTC-USDT.binance", "1m", None, None, 0, None), "limit"),
        (("BTC-USDT.binance", "1m", None, None, None, "%%%"), "cursor"),
        (("BTC-USDT", "1m", None, None, None, None), "instrument"),
    ):
        with pytest.raises(Invalid) as info:
            CandleQuery.parse(*args, L)  # type: ignore[arg-type]
        assert info.value.field == field


def test_cursors_are_bound_to_their_query() -> None:
    token = encode_cursor({"k": "trades", "i": "BTC-USDT.binance", "e": None, "t": 1, "s": 2,
                           "id": "2"})
    q = TradeQuery.parse("BTC-USDT.binance", None, None, None, token, L)
    assert q.after == (1, 2, "2")
    with pytest.raises(Invalid):
        TradeQuery.parse("ETH-USDT.binance", None, None, None, token, L)
    with pytest.raises(Invalid):
        decode_cursor(token, {"k": "candles"})
    with pytest.raises(Invalid, match="days"):
        TradeQuery.parse("BTC-USDT.binance", "2024-01-01", "2024-02-01", None, None, L)
