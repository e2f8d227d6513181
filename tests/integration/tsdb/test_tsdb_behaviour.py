"""The behaviour every time-series backend shares: same SQL, same values back."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.errors import Invalid, Unavailable
from argosy.platform.tsdb import QueryError, TimeSeriesDB

pytestmark = pytest.mark.integration

BASE_NS = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
TRADES_DDL = """
CREATE TABLE trades (
    ts DateTime64(9, 'UTC'),
    symbol LowCardinality(String),
    price Decimal(38, 18),
    qty Decimal(38, 18),
    trade_id UInt64
) ENGINE = MergeTree ORDER BY (symbol, ts)
"""
COLUMNS = ["ts", "symbol", "price", "qty", "trade_id"]


def make_trades(n: int, symbol: str = "BTCUSDT") -> list[tuple[Any, ...]]:
    """Trades 0.7s apart with prices that need all 18 decimals to be exact."""
    return [
        (
            BASE_NS + i * 700_000_001,
            symbol,
            Decimal("42000.000000000000000001") + Decimal(i % 37) * Decimal("0.123456789012345678"),
            Decimal("0.000000000000000001") * (i + 1),
            i,
        )
        for i in range(n)
    ]


async def with_trades(tsdb: TimeSeriesDB, n: int = 500) -> list[tuple[Any, ...]]:
    await tsdb.command(TRADES_DDL)
    trades = make_trades(n)
    assert await tsdb.insert("trades", COLUMNS, trades) == n
    return trades


async def test_connect_creates_and_uses_the_service_database(tsdb: TimeSeriesDB) -> None:
    await tsdb.check()
    result = await tsdb.query("SELECT currentDatabase() AS db")
    assert result.dicts() == [{"db": tsdb.database}]
    await tsdb.command("CREATE TABLE unqualified (x UInt8) ENGINE = MergeTree ORDER BY x")
    tables = await tsdb.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", {"db": tsdb.database}
    )
    assert tables.rows == [("unqualified",)]


async def test_decimals_and_nanosecond_timestamps_round_trip_exactly(tsdb: TimeSeriesDB) -> None:
    trades = await with_trades(tsdb)
    result = await tsdb.query(
        "SELECT ts, symbol, price, qty, trade_id FROM trades ORDER BY trade_id"
    )
    assert result.columns == COLUMNS
    assert result.rows == trades
    assert all(type(row[2]) is Decimal and type(row[0]) is int for row in result.rows)
    total = await tsdb.query(
        "SELECT sum(price) AS s, toUnixTimestamp64Nano(max(ts)) AS t FROM trades"
    )
    assert total.rows == [(sum(t[2] for t in trades), trades[-1][0])]


async def test_query_parameters_filter_server_side(tsdb: TimeSeriesDB) -> None:
    trades = await with_trades(tsdb)
    since, cheap = trades[100][0], Decimal("42001")
    result = await tsdb.query(
        "SELECT trade_id FROM trades WHERE symbol = {symbol:String}"
        " AND ts >= {since:DateTime64(9)} AND price < {cheap:Decimal(38, 18)} ORDER BY trade_id",
        {"symbol": "BTCUSDT", "since": since, "cheap": cheap},
    )
    expected = [(t[4],) for t in trades if t[0] >= since and t[2] < cheap]
    assert result.rows == expected
    assert len(expected) > 10


async def test_one_minute_bars_with_argmin_argmax(tsdb: TimeSeriesDB) -> None:
    trades = await with_trades(tsdb, 1000)
    result = await tsdb.query(
        """
        SELECT toStartOfMinute(ts) AS minute, argMin(price, ts) AS open, max(price) AS high,
               min(price) AS low, argMax(price, ts) AS close, sum(qty) AS volume, count() AS n
        FROM trades WHERE symbol = {symbol:String} GROUP BY minute ORDER BY minute
        """,
        {"symbol": "BTCUSDT"},
    )
    bars: dict[int, list[tuple[Any, ...]]] = {}
    for t in trades:
        bars.setdefault(t[0] // 60_000_000_000 * 60_000_000_000, []).append(t)
    expected = [
        (
            m,
            ts[0][2],
            max(t[2] for t in ts),
            min(t[2] for t in ts),
            ts[-1][2],
            sum(t[3] for t in ts),
            len(ts),
        )
        for m, ts in sorted(bars.items())
    ]
    assert result.rows == expected
    assert len(result.rows) == 12


async def test_empty_result_keeps_its_columns(tsdb: TimeSeriesDB) -> None:
    await with_trades(tsdb, 10)
    result = await tsdb.query(
        "SELECT trade_id, price FROM trades WHERE symbol = {s:String}", {"s": "NOPE"}
    )
    assert result.rows == []
    assert result.dicts() == []
    assert result.columns in (["trade_id", "price"], [])  # a server may send no header
    assert await tsdb.insert("trades", COLUMNS, []) == 0


async def test_bad_sql_raises_query_error_and_the_store_stays_usable(tsdb: TimeSeriesDB) -> None:
    with pytest.raises(QueryError) as syntax:
        await tsdb.query("SELEC 1")
    assert syntax.value.server_code == 62
    with pytest.raises(QueryError) as missing:
        await tsdb.query("SELECT * FROM no_such_table")
    assert missing.value.server_code == 60
    with pytest.raises(QueryError):
        await tsdb.command("CREATE TABLE broken (x NoSuchType) ENGINE = Memory")
    assert (await tsdb.query("SELECT currentDatabase()")).rows == [(tsdb.database,)]


@pytest.mark.parametrize(
    ("ch_type", "value", "expected"),
    [
        ("String", 'it\'s a \\ "quote"\ttab\nline é 🚀', None),
        ("Array(String)", ["a'b", "c\\d", "e\nf\tg", ""], None),
        ("Nullable(Int64)", None, None),
        ("Int64", -(2**63), None),
        ("UInt64", 2**64 - 1, None),
        ("Decimal(38, 18)", Decimal("-12345678901234567890.000000000000000001"), None),
        ("Decimal(38, 18)", Decimal("1E-18"), None),
        ("Array(Decimal(20, 4))", [Decimal("1.5"), Decimal("-0.0001")], None),
        ("Float64", 0.1, None),
        ("Bool", True, None),
        ("Date", dt.date(2024, 2, 29), None),
        ("UUID", uuid.UUID("0b08f9c4-1076-42d3-8a0e-9ad93d37176d"), None),
        ("DateTime64(9)", BASE_NS + 123_456_789, None),
        (
            "DateTime64(6, 'Asia/Tokyo')",
            dt.datetime(2024, 1, 1, 9, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=9))),
            BASE_NS + 123_456_000,
        ),
        ("DateTime", dt.datetime(2024, 1, 1, tzinfo=dt.UTC), BASE_NS),
        ("Array(Nullable(Int32))", [1, None, 3], None),
        ("Map(String, Int64)", {"a": 1, "b'": 2}, None),
        ("Tuple(Int64, String)", (1, "x"), None),
    ],
)
async def test_parameters_round_trip(
    tsdb: TimeSeriesDB, ch_type: str, value: Any, expected: Any
) -> None:
    result = await tsdb.query(f"SELECT {{v:{ch_type}}} AS v", {"v": value})
    assert result.rows == [(value if expected is None else expected,)]


async def test_unused_parameter_is_refused_before_sending(tsdb: TimeSeriesDB) -> None:
    with pytest.raises(Invalid):
        await tsdb.query("SELECT %(x)s", {"x": "1; DROP TABLE trades"})


async def test_insert_checks_values_and_names(tsdb: TimeSeriesDB) -> None:
    await tsdb.command(TRADES_DDL)
    good = make_trades(1)[0]
    with pytest.raises(Invalid, match="exact decimal"):
        await tsdb.insert("trades", COLUMNS, [(good[0], "X", 42000.5, good[3], 1)])
    with pytest.raises(Invalid, match="timezone-aware"):
        await tsdb.insert("trades", COLUMNS, [(dt.datetime(2024, 1, 1), *good[1:])])
    with pytest.raises(Invalid, match="row 1"):
        await tsdb.insert("trades", COLUMNS, [good, good[:3]])
    with pytest.raises(Invalid, match="no column"):
        await tsdb.insert("trades", [*COLUMNS[:4], "nope"], [good])
    with pytest.raises(Invalid):
        await tsdb.insert("trades; DROP TABLE trades", COLUMNS, [good])
    with pytest.raises(Invalid):
        await tsdb.insert("trades", ["ts", "price`) SELECT 1 --"], [good[:2]])
    with pytest.raises(QueryError):
        await tsdb.insert("missing_table", COLUMNS, [good])
    assert (await tsdb.query("SELECT count() FROM trades")).rows == [(0,)]


async def test_insert_runs_in_batches_and_accepts_aware_datetimes(tsdb: TimeSeriesDB) -> None:
    await tsdb.command(TRADES_DDL)
    tsdb.insert_batch_rows = 7
    trades = make_trades(50)
    when = dt.datetime(2024, 1, 1, 1, 0, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    rows = [(when, *t[1:]) if t[4] == 3 else t for t in trades]
    assert await tsdb.insert("trades", COLUMNS, rows) == 50
    result = await tsdb.query("SELECT ts, price FROM trades WHERE trade_id = 3")
    assert result.rows == [(BASE_NS + 5_000, trades[3][2])]
    assert (await tsdb.query("SELECT count() FROM trades")).rows == [(50,)]


async def test_nullable_array_and_coarser_timestamp_columns(tsdb: TimeSeriesDB) -> None:
    await tsdb.command(
        """CREATE TABLE misc (id UInt32, fee Nullable(Decimal(18, 8)), fills Array(Decimal(38, 18)),
           ms DateTime64(3), s Nullable(DateTime), note Nullable(String))
           ENGINE = MergeTree ORDER BY id"""
    )
    rows = [
        (
            1,
            Decimal("0.00000001"),
            [Decimal("1.000000000000000001"), Decimal(2)],
            BASE_NS + 123_456_789,
            BASE_NS + 999_999_999,
            "x",
        ),
        (2, None, [], BASE_NS, None, None),
    ]
    await tsdb.insert(f"{tsdb.database}.misc", ["id", "fee", "fills", "ms", "s", "note"], rows)
    result = await tsdb.query("SELECT id, fee, fills, ms, s, note FROM misc ORDER BY id")
    assert result.rows == [
        (
            1,
            Decimal("0.00000001"),
            [Decimal("1.000000000000000001"), Decimal(2)],
            BASE_NS + 123_000_000,
            BASE_NS,
            "x",
        ),
        (2, None, [], BASE_NS, None, None),
    ]


async def test_concurrent_calls_on_one_store(tsdb: TimeSeriesDB) -> None:
    await with_trades(tsdb, 100)
    results = await asyncio.gather(
        *(
            tsdb.query("SELECT count() FROM trades WHERE trade_id < {n:UInt64}", {"n": n})
            for n in range(20)
        )
    )
    assert [r.rows[0][0] for r in results] == list(range(20))


async def test_closed_store_is_unavailable(tsdb: TimeSeriesDB) -> None:
    await tsdb.close()
    with pytest.raises(Unavailable):
        await tsdb.check()
    with pytest.raises(Unavailable):
        await tsdb.query("SELECT 1")
    await tsdb.connect()  # the fixture drops the database through it
