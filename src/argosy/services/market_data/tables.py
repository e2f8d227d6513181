"""The market-data service's time-series tables and their retention.

- `trades`: one row per trade. ReplacingMergeTree keyed by (instrument, stream, ts, seq,
  trade_id): a trade stored twice (a replay that restarts, a backfill overlapping live
  data) collapses into one, and readers use FINAL so they never see the second copy.
  `stream` keeps Binance's two id spaces apart (`trade` ids vs `aggTrade` ids).
- `bars`: OHLCV per interval and source (`trades`: built here; `exchange`: the venue's
  klines). ReplacingMergeTree on `version`, so a bar recomputed after a repair replaces
  the old one.
- `book_deltas` / `book_snapshots`: the L2 stream as published, and full books at
  intervals and after every resync; a book at time t is the last snapshot before t plus
  the deltas after it, in (ts_recv, pos) order.

Retention is a TTL on `ingested`, the local time a row was written, not on the market
time: backfilled history and replayed recordings are years old on arrival and must not be
dropped on insert (ClickHouse applies an expired TTL as it writes).
"""

from __future__ import annotations

from dataclasses import dataclass

from argosy.platform.tsdb.base import TimeSeriesDB

__all__ = ["BAR_COLUMNS", "DELTA_COLUMNS", "SNAPSHOT_COLUMNS", "TRADE_COLUMNS", "Retention",
           "ensure_tables"]

_D = "Decimal(38, 18)"
_T = "DateTime64(9, 'UTC')"

TRADE_COLUMNS = ("instrument", "stream", "ts", "seq", "trade_id", "price", "qty", "side",
                 "ts_recv", "source", "ingested")
BAR_COLUMNS = ("instrument", "interval", "source", "ts_open", "open", "high", "low", "close",
               "volume", "trades", "version", "ingested")
DELTA_COLUMNS = ("instrument", "ts_event", "ts_recv", "pos", "seq", "side", "price", "qty",
                 "ingested")
SNAPSHOT_COLUMNS = ("instrument", "ts_recv", "pos", "seq", "reason", "bid_prices", "bid_sizes",
                    "ask_prices", "ask_sizes", "ingested")

_DDL = {
    "trades": f"""
        CREATE TABLE IF NOT EXISTS trades (
            instrument LowCardinality(String), stream LowCardinality(String), ts {_T},
            seq UInt64, trade_id String, price {_D}, qty {_D}, side LowCardinality(String),
            ts_recv {_T}, source LowCardinality(String), ingested {_T}
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(ts)
        ORDER BY (instrument, stream, ts, seq, trade_id)""",
    "bars": f"""
        CREATE TABLE IF NOT EXISTS bars (
            instrument LowCardinality(String), interval LowCardinality(String),
            source LowCardinality(String), ts_open {_T}, open {_D}, high {_D}, low {_D},
            close {_D}, volume {_D}, trades UInt64, version UInt64, ingested {_T}
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY (interval, toYear(ts_open))
        ORDER BY (instrument, interval, source, ts_open)""",
    "book_deltas": f"""
        CREATE TABLE IF NOT EXISTS book_deltas (
            instrument LowCardinality(String), ts_event {_T}, ts_recv {_T}, pos UInt64,
            seq UInt64, side LowCardinality(String), price {_D}, qty {_D}, ingested {_T}
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMMDD(ts_recv)
        ORDER BY (instrument, ts_recv, pos)""",
    "book_snapshots": f"""
        CREATE TABLE IF NOT EXISTS book_snapshots (
            instrument LowCardinality(String), ts_recv {_T}, pos UInt64, seq UInt64,
            reason LowCardinality(String), bid_prices Array({_D}), bid_sizes Array({_D}),
            ask_prices Array({_D}), ask_sizes Array({_D}), ingested {_T}
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(ts_recv)
        ORDER BY (instrument, ts_recv, pos)""",
}


@dataclass(frozen=True, slots=True)
class Retention:
    trades_days: int = 0
    bars_days: int = 0
    book_days: int = 14

    def days(self, table: str) -> int:
        if table == "trades":
            return self.trades_days
        if table == "bars":
            return self.bars_days
        return self.book_days


async def ensure_tables(tsdb: TimeSeriesDB, retention: Retention) -> None:
    """Create the tables and bring each TTL to the configured retention (idempotent)."""
    for table, ddl in _DDL.items():
        await tsdb.command(ddl)
        days = retention.days(table)
        current = await tsdb.query(
            "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() "
            "AND name = {t:String}", {"t": table})
        has_ttl = bool(current.rows) and " TTL " in str(current.rows[0][0])
        if days > 0:
            await tsdb.command(
                f"ALTER TABLE {table} MODIFY TTL toDateTime(ingested) + INTERVAL {int(days)} DAY")
        elif has_ttl:
            await tsdb.command(f"ALTER TABLE {table} REMOVE TTL")
