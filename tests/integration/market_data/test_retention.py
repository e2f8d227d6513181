"""Retention settings become TTLs on the tsdb tables, measured from when a row was stored
(`ingested`), so old market history backfilled today is kept and rows stored longer ago
than the retention are dropped. Rows are real recorded BTCUSDT spot trades."""

from __future__ import annotations

import time

import pytest

from argosy.platform.tsdb.base import TimeSeriesDB
from argosy.services.market_data.tables import TRADE_COLUMNS, Retention, ensure_tables
from tests.integration.market_data.conftest import SPOT, MakeMarket, eventually
from tests.support.binance_data import trade_rows

pytestmark = pytest.mark.integration

DAY_NS = 86_400 * 10**9


async def ttl_of(tsdb: TimeSeriesDB, table: str) -> str:
    result = await tsdb.query(
        "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() "
        "AND name = {t:String}", {"t": table})
    query = str(result.rows[0][0])
    return query.partition(" TTL ")[2] if " TTL " in query else ""


async def test_retention_settings_become_ttls(make_market: MakeMarket) -> None:
    async with make_market(None, instruments=(), trades_retention_days=7, bars_retention_days=0,
                           book_retention_days=3) as market:
        tsdb = market.runtime.tsdb
        assert tsdb is not None

        async def created() -> bool:
            """book_snapshots is the last table the storage loop creates and alters."""
            tables = await tsdb.query("SELECT name FROM system.tables WHERE "
                                      "database = currentDatabase()")
            return "book_snapshots" in {n for (n,) in tables.rows} and \
                "toIntervalDay(3)" in await ttl_of(tsdb, "book_snapshots")

        await eventually(created, 30)
        assert "toIntervalDay(7)" in await ttl_of(tsdb, "trades")
        assert await ttl_of(tsdb, "bars") == ""
        assert "toIntervalDay(3)" in await ttl_of(tsdb, "book_deltas")
        assert "toIntervalDay(3)" in await ttl_of(tsdb, "book_snapshots")

        now = time.time_ns()
        real = trade_rows("binance_spot_BTCUSDT_trades.csv")[:200]
        rows = [(SPOT, "trade", int(r["ts_ms"]) * 10**6, int(r["trade_id"]), r["trade_id"],
                 r["price"], r["qty"], "sell" if r["is_buyer_maker"] == "true" else "buy",
                 int(r["recv_ts_ns"]), "backfill",
                 # the first half was stored 30 days ago, the rest today
                 now - 30 * DAY_NS if i < 100 else now) for i, r in enumerate(real)]
        await tsdb.insert("trades", TRADE_COLUMNS, rows)
        await tsdb.command("OPTIMIZE TABLE trades FINAL")
        kept = await tsdb.query("SELECT trade_id FROM trades ORDER BY trade_id")
        # 2024 market times are kept: only the storage age counts
        assert [int(t) for (t,) in kept.rows] == [int(r["trade_id"]) for r in real[100:]]

        await ensure_tables(tsdb, Retention(trades_days=0, bars_days=30, book_days=0))
        assert await ttl_of(tsdb, "trades") == ""
        assert "toIntervalDay(30)" in await ttl_of(tsdb, "bars")
        assert await ttl_of(tsdb, "book_deltas") == ""
