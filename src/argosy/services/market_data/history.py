"""Reads of the stored series, and bars rebuilt from stored trades, in ClickHouse SQL.

Readers use FINAL so a row stored twice (see tables.py) is seen once. Times cross as int
nanoseconds (`fromUnixTimestamp64Nano`), never as text.

Why SQL for rebuilt bars (the live path builds them incrementally, domain/bars.py): a
backfill or a repair lands thousands to millions of trades in the past at once; one
`INSERT ... SELECT ... GROUP BY` per interval rolls them up inside the engine, vectorised
and exact in Decimal, without moving a row into Python. Open and close are the first and
last trade by (time, id), the order the live builder sees them in, so both paths give the
same bars (tests/unit/services/market_data/test_bars.py and the integration tests check it).
"""

# ruff: noqa: S608  # SQL is built from constant fragments; every value is a bound parameter
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from argosy.kernel.messages import Interval
from argosy.platform.tsdb.base import TimeSeriesDB
from argosy.services.market_data.domain.continuity import DayStats, holes
from argosy.services.market_data.domain.queries import DAY_NS, CandleQuery, TradeQuery
from argosy.services.market_data.tables import TRADE_COLUMNS
from argosy.venues.book import OrderBook

__all__ = ["History"]

_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"
_OHLCV = "open, high, low, close, volume"


def _t(name: str) -> str:
    return _NS % name


class History:
    def __init__(self, tsdb: TimeSeriesDB) -> None:
        self.tsdb = tsdb

    # --- candles and trades --------------------------------------------------------------
    async def candles(self, q: CandleQuery, source: str = "trades") -> list[tuple[Any, ...]]:
        where = ["instrument = {i:String}", "interval = {iv:String}", "source = {src:String}"]
        params: dict[str, Any] = {"i": str(q.instrument), "iv": q.interval.value,
                                  "src": source, "n": q.limit}
        if q.start is not None:
            where.append(f"ts_open >= {_t('lo')}")
            params["lo"] = q.start
        if q.end is not None:
            where.append(f"ts_open < {_t('hi')}")
            params["hi"] = q.end
        order = "ASC" if q.start is not None else "DESC"
        result = await self.tsdb.query(
            f"SELECT ts_open, {_OHLCV}, trades FROM bars FINAL WHERE {' AND '.join(where)} "
            f"ORDER BY ts_open {order} LIMIT {{n:UInt32}}", params)
        return result.rows if order == "ASC" else result.rows[::-1]

    async def trades(self, q: TradeQuery, stream: str = "trade") -> list[tuple[Any, ...]]:
        where = ["instrument = {i:String}", "stream = {s:String}"]
        params: dict[str, Any] = {"i": str(q.instrument), "s": stream, "n": q.limit}
        if q.after is not None:
            where.append(f"(ts, seq, trade_id) > ({_t('at')}, {{aseq:UInt64}}, {{aid:String}})")
            params.update(at=q.after[0], aseq=q.after[1], aid=q.after[2])
        elif q.start is not None:
            where.append(f"ts >= {_t('lo')}")
            params["lo"] = q.start
        if q.end is not None:
            where.append(f"ts < {_t('hi')}")
            params["hi"] = q.end
        order = "ASC" if q.start is not None or q.after is not None else "DESC"
        result = await self.tsdb.query(
            "SELECT ts, seq, trade_id, price, qty, side FROM trades FINAL "
            f"WHERE {' AND '.join(where)} ORDER BY ts {order}, seq {order}, trade_id {order} "
            "LIMIT {n:UInt32}", params)
        return result.rows if order == "ASC" else result.rows[::-1]

    async def all_trades(self, instrument: str, stream: str = "trade") -> list[tuple[Any, ...]]:
        """Every stored trade of `instrument` in id order (tests and checksums)."""
        result = await self.tsdb.query(
            "SELECT seq, trade_id, ts, price, qty, side FROM trades FINAL WHERE instrument = "
            "{i:String} AND stream = {s:String} ORDER BY ts, seq, trade_id",
            {"i": instrument, "s": stream})
        return result.rows

    async def last_trade(self, instrument: str, stream: str = "trade") -> tuple[int, int] | None:
        """(largest numeric id, its time) stored for `instrument`, if any."""
        result = await self.tsdb.query(
            "SELECT max(seq), max(ts), count() FROM trades WHERE instrument = {i:String} "
            "AND stream = {s:String}", {"i": instrument, "s": stream})
        seq, ts, count = result.rows[0]
        return (int(seq), int(ts)) if int(count) else None

    async def stored_ids(self, instrument: str, stream: str, first: int, last: int) -> set[int]:
        result = await self.tsdb.query(
            "SELECT DISTINCT seq FROM trades WHERE instrument = {i:String} AND stream = "
            "{s:String} AND seq >= {a:UInt64} AND seq <= {b:UInt64}",
            {"i": instrument, "s": stream, "a": first, "b": last})
        return {int(r[0]) for r in result.rows}

    async def insert_trades(self, rows: Sequence[tuple[Any, ...]]) -> int:
        return await self.tsdb.insert("trades", TRADE_COLUMNS, rows)

    # --- bars ------------------------------------------------------------------------------
    async def rebuild_bars(self, instrument: str, stream: str, start: int, end: int,
                           version: int) -> int:
        """Recompute every bar (all intervals) whose window touches [start, end) from the
        stored trades; returns how many 1m bars the range now has."""
        for interval in Interval:
            step = interval.ns
            lo, hi = start - start % step, end + (-end % step)
            await self.tsdb.command(
                "INSERT INTO bars (instrument, interval, source, ts_open, open, high, low, "
                "close, volume, trades, version, ingested) "
                "SELECT instrument, {iv:String}, 'trades', fromUnixTimestamp64Nano("
                "intDiv(toUnixTimestamp64Nano(ts), {step:Int64}) * {step:Int64}, 'UTC') AS t, "
                "argMin(price, (ts, seq, trade_id)), max(price), min(price), "
                "argMax(price, (ts, seq, trade_id)), sum(qty), count(), {v:UInt64}, "
                f"{_t('vt')} FROM trades FINAL WHERE instrument = {{i:String}} AND "
                f"stream = {{s:String}} AND ts >= {_t('lo')} AND ts < {_t('hi')} "
                "GROUP BY instrument, t",
                {"iv": interval.value, "step": step, "v": version, "vt": version,
                 "i": instrument, "s": stream, "lo": lo, "hi": hi})
        result = await self.tsdb.query(
            f"SELECT count() FROM bars FINAL WHERE instrument = {{i:String}} AND interval = '1m' "
            f"AND source = 'trades' AND ts_open >= {_t('lo')} AND ts_open < {_t('hi')}",
            {"i": instrument, "lo": start - start % Interval.M1.ns, "hi": end})
        return int(result.rows[0][0])

    async def bars_map(self, instrument: str, interval: Interval, source: str, start: int,
                       end: int) -> dict[int, tuple[Decimal, ...]]:
        result = await self.tsdb.query(
            f"SELECT ts_open, {_OHLCV} FROM bars FINAL WHERE instrument = {{i:String}} AND "
            f"interval = {{iv:String}} AND source = {{src:String}} AND ts_open >= {_t('lo')} "
            f"AND ts_open < {_t('hi')} ORDER BY ts_open",
            {"i": instrument, "iv": interval.value, "src": source, "lo": start, "hi": end})
        return {int(r[0]): tuple(r[1:6]) for r in result.rows}

    # --- books -----------------------------------------------------------------------------
    async def book_at(self, instrument: str, at_ns: int | None = None) -> OrderBook | None:
        """The stored book: the last snapshot (before `at_ns`) plus the deltas after it."""
        params: dict[str, Any] = {"i": instrument}
        cut = ""
        if at_ns is not None:
            cut = f" AND ts_recv <= {_t('at')}"
            params["at"] = at_ns
        snap = await self.tsdb.query(
            "SELECT ts_recv, pos, seq, bid_prices, bid_sizes, ask_prices, ask_sizes FROM "
            f"book_snapshots WHERE instrument = {{i:String}}{cut} ORDER BY ts_recv DESC, "
            "pos DESC LIMIT 1", params)
        if not snap.rows:
            return None
        ts, pos, seq, bp, bs, ap, as_ = snap.rows[0]
        book = OrderBook(instrument)
        book.load(list(zip(bp, bs, strict=True)), list(zip(ap, as_, strict=True)), int(seq))
        deltas = await self.tsdb.query(
            "SELECT side, price, qty, seq FROM book_deltas WHERE instrument = {i:String} AND "
            f"(ts_recv, pos) > ({_t('st')}, {{sp:UInt64}}){cut} ORDER BY ts_recv, pos",
            {**params, "st": int(ts), "sp": int(pos)})
        for side, price, qty, dseq in deltas.rows:
            (book.bids if side == "buy" else book.asks).set(price, qty)
            book.last_update_id = int(dseq)
        return book

    # --- continuity ------------------------------------------------------------------------
    async def day_stats(self, instrument: str, day_ns: int, day: str,
                        stream: str = "trade") -> DayStats:
        params = {"i": instrument, "s": stream, "lo": day_ns, "hi": day_ns + DAY_NS}
        where = (f"instrument = {{i:String}} AND stream = {{s:String}} AND ts >= {_t('lo')} "
                 f"AND ts < {_t('hi')}")
        head = await self.tsdb.query(
            "SELECT count(), minIf(seq, seq > 0), maxIf(seq, seq > 0), uniqExactIf(seq, "
            f"seq > 0), min(ts), max(ts) FROM trades FINAL WHERE {where}", params)
        count, lo, hi, distinct, first_ts, last_ts = head.rows[0]
        if not int(count):
            return DayStats(day)
        numeric = int(distinct) > 0
        found: list[tuple[int, int]] = []
        if numeric and int(hi) - int(lo) + 1 != int(distinct):
            ids = await self.tsdb.query(
                f"SELECT DISTINCT seq FROM trades WHERE {where} AND seq > 0 ORDER BY seq",
                params)
            found = holes(int(r[0]) for r in ids.rows)[:100]
        bars = await self.tsdb.query(
            "SELECT count() FROM bars FINAL WHERE instrument = {i:String} AND interval = '1m' "
            f"AND source = 'trades' AND ts_open >= {_t('lo')} AND ts_open < {_t('hi')}",
            {"i": instrument, "lo": day_ns, "hi": day_ns + DAY_NS})
        return DayStats(
            day, int(count), int(lo) if numeric else None, int(hi) if numeric else None,
            int(distinct), int(first_ts), int(last_ts), int(bars.rows[0][0]), tuple(found))

    async def days_with_data(self, instrument: str, limit: int = 31) -> list[int]:
        result = await self.tsdb.query(
            "SELECT DISTINCT toUnixTimestamp(toStartOfDay(ts)) AS d FROM trades WHERE "
            "instrument = {i:String} ORDER BY d DESC LIMIT {n:UInt32}",
            {"i": instrument, "n": limit})
        return sorted(int(r[0]) * 1_000_000_000 for r in result.rows)
