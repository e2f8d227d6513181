"""History from outside the live stream: the exchange's REST API and its archive files.

One `Backfiller` serves three callers: `argosy backfill` (CLI), the admin backfill API,
and the repair of gaps the live path found (continuity.py). Whatever the source, trades
land in the same `trades` table (ids already stored are skipped, and the table collapses
duplicates anyway), the bars of every interval touched are rebuilt from the stored trades
in SQL (history.py), and where the venue publishes klines for the same minutes the two
are compared and every difference recorded.

REST sources (Binance; the replay venue speaks the same API):
- trades by id range (`historicalTrades`); by time range the first id is found by a binary
  search over ids (about 32 calls), since that endpoint has no time parameter;
- aggTrades by id range or time range (`aggTrades`, one-hour windows);
- klines by time range, stored as bars with source `exchange`.
Archive files (data.binance.vision zips or their CSVs, domain/archive.py) are read as
streams, in batches, so a month of trades never sits in memory.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from argosy.kernel.clock import NS_PER_MS, Clock, LiveClock
from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval
from argosy.services.market_data.domain.archive import (
    ArchiveKind,
    ArchiveTrade,
    kline_rows,
    parse_name,
    trade_rows,
)
from argosy.services.market_data.domain.bars import Mismatch, reconcile
from argosy.services.market_data.domain.routing import route
from argosy.services.market_data.history import History
from argosy.services.market_data.tables import BAR_COLUMNS
from argosy.venues.binance.rest import BinanceRestClient

__all__ = ["BackfillResult", "Backfiller", "Progress"]

Progress = Callable[[int, float | None], None]  # rows so far, fraction done (if known)
RestFor = Callable[[str], BinanceRestClient]  # market ("spot"/"usdm") -> client
_BATCH = 50_000
_HOUR_MS = 3_600_000


@dataclass(slots=True)
class BackfillResult:
    instrument: str
    stream: str  # trade | aggTrade | klines
    rows: int = 0  # rows fetched or read
    stored: int = 0  # rows that were new
    first_ts: int | None = None
    last_ts: int | None = None
    bars_1m: int = 0
    mismatches: int = 0

    def seen(self, ts: int) -> None:
        self.first_ts = ts if self.first_ts is None else min(self.first_ts, ts)
        self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)


def _noop(_rows: int, _fraction: float | None) -> None:
    return None


class Backfiller:
    def __init__(self, history: History, rest_for: RestFor | None = None,
                 clock: Clock | None = None) -> None:
        self.history = history
        self.rest_for = rest_for
        self.clock: Clock = clock or LiveClock()

    def _rest(self, iid: InstrumentId) -> tuple[BinanceRestClient, str]:
        r = route(iid)
        if not r.native or self.rest_for is None:
            raise Invalid(f"REST backfill is implemented for Binance; {iid} is on {r.venue}",
                          field="instrument")
        return self.rest_for(r.market), r.symbol

    # --- trades ----------------------------------------------------------------------------
    async def rest_trades(self, iid: InstrumentId, *, from_id: int | None = None,
                          to_id: int | None = None, start_ns: int | None = None,
                          end_ns: int | None = None, progress: Progress = _noop,
                          rebuild: bool = True) -> BackfillResult:
        rest, symbol = self._rest(iid)
        if from_id is None:
            if start_ns is None:
                raise Invalid("give from_id or start", field="start")
            from_id = await self._first_id_at(rest, symbol, start_ns // NS_PER_MS)
            if from_id is None:
                return BackfillResult(str(iid), "trade")
        total = None if to_id is None else to_id - from_id + 1

        async def rows() -> AsyncIterator[ArchiveTrade]:
            async for row in rest.iter_historical_trades(symbol, from_id, to_id):
                ts = int(row["time"]) * NS_PER_MS
                if end_ns is not None and ts >= end_ns:
                    return
                yield ArchiveTrade(int(row["id"]), _dec(row["price"]), _dec(row["qty"]), ts,
                                   bool(row["isBuyerMaker"]))

        return await self._store(iid, "trade", "rest", rows(), progress, total, rebuild)

    async def _first_id_at(self, rest: BinanceRestClient, symbol: str, start_ms: int
                           ) -> int | None:
        latest = await rest.historical_trades(symbol, limit=1)
        if not latest:
            return None
        lo, hi = 0, int(latest[-1]["id"])
        if int(latest[-1]["time"]) < start_ms:
            return None
        while lo < hi:  # smallest id whose trade time is >= start
            mid = (lo + hi) // 2
            probe = await rest.historical_trades(symbol, from_id=mid, limit=1)
            if not probe:
                hi = mid
            elif int(probe[0]["time"]) >= start_ms:
                hi = min(mid, int(probe[0]["id"]))
            else:
                lo = int(probe[0]["id"]) + 1
        return lo

    async def rest_agg_trades(self, iid: InstrumentId, *, start_ns: int, end_ns: int,
                              progress: Progress = _noop, rebuild: bool = True
                              ) -> BackfillResult:
        rest, symbol = self._rest(iid)
        span = max(1, end_ns - start_ns)

        async def rows() -> AsyncIterator[ArchiveTrade]:
            # Time only finds the first id (windows of at most an hour, as Binance
            # requires); from there ids are paged in order until the end time.
            window, end_ms = start_ns // NS_PER_MS, end_ns // NS_PER_MS
            page: list[dict[str, Any]] = []
            while not page and window < end_ms:
                page = await rest.agg_trades(symbol, start_ms=window,
                                             end_ms=min(window + _HOUR_MS, end_ms) - 1,
                                             limit=1000)
                window += _HOUR_MS
            bounded = True  # the first page ends with its hour, not with the venue's data
            while page:
                for row in page:
                    ts = int(row["T"]) * NS_PER_MS
                    if ts >= end_ns:
                        return
                    yield ArchiveTrade(int(row["a"]), _dec(row["p"]), _dec(row["q"]), ts,
                                       bool(row["m"]))
                progress(0, (ts - start_ns) / span)
                if len(page) < 1000 and not bounded:
                    return
                bounded = False
                page = await rest.agg_trades(symbol, from_id=int(page[-1]["a"]) + 1,
                                             limit=1000)

        return await self._store(iid, "aggTrade", "rest", rows(), progress, None, rebuild)

    async def archive(self, iid: InstrumentId, path: Path, *, progress: Progress = _noop,
                      rebuild: bool = True) -> BackfillResult:
        """A Binance archive zip (or its CSV) of trades, aggTrades or klines."""
        name = parse_name(path.name)
        expected = route(iid).symbol
        if name.symbol != expected:
            raise Invalid(f"{path.name} holds {name.symbol}, not {expected} ({iid})",
                          field="path")
        if not await asyncio.to_thread(path.is_file):
            raise NotFound(f"no such file: {path}", field="path")
        if name.is_klines:
            interval = Interval.parse(name.kind)
            klines = await asyncio.to_thread(lambda: list(kline_rows(_csv(path))))
            return await self._store_klines(iid, interval, klines, "archive", progress)
        stream = "trade" if name.kind == ArchiveKind.TRADES else "aggTrade"
        parsed = trade_rows(_csv(path), name.kind)

        def chunk() -> list[ArchiveTrade]:
            return list(itertools.islice(parsed, _BATCH))

        async def rows() -> AsyncIterator[ArchiveTrade]:
            # Parsing runs in a worker thread, a batch at a time: a month of trades must
            # neither sit in memory nor hold up the live feed on the event loop.
            while batch := await asyncio.to_thread(chunk):
                for trade in batch:
                    yield trade

        return await self._store(iid, stream, "archive", rows(), progress, None, rebuild)

    async def _store(self, iid: InstrumentId, stream: str, source: str,
                     trades: AsyncIterator[ArchiveTrade], progress: Progress,
                     total: int | None, rebuild: bool) -> BackfillResult:
        result = BackfillResult(str(iid), stream)
        batch: list[ArchiveTrade] = []
        async for trade in trades:
            batch.append(trade)
            if len(batch) >= _BATCH:
                await self._flush(result, batch, source)
                progress(result.rows, result.rows / total if total else None)
                batch = []
        if batch:
            await self._flush(result, batch, source)
        progress(result.rows, 1.0)
        if rebuild and result.first_ts is not None and result.last_ts is not None:
            result.bars_1m = await self.history.rebuild_bars(
                str(iid), stream, result.first_ts, result.last_ts + 1, self.clock.now_ns())
        return result

    async def _flush(self, result: BackfillResult, batch: list[ArchiveTrade], source: str
                     ) -> None:
        key, now = result.instrument, self.clock.now_ns()
        known = await self.history.stored_ids(key, result.stream, batch[0].trade_id,
                                              batch[-1].trade_id) if _ordered(batch) else set()
        rows = []
        for t in batch:
            result.seen(t.ts_ns)
            if t.trade_id in known:
                continue
            rows.append((key, result.stream, t.ts_ns, t.trade_id, str(t.trade_id), t.price,
                         t.qty, "sell" if t.buyer_maker else "buy", now, source, now))
        result.rows += len(batch)
        result.stored += await self.history.insert_trades(rows) if rows else 0

    # --- klines ----------------------------------------------------------------------------
    async def rest_klines(self, iid: InstrumentId, interval: Interval, *, start_ns: int,
                          end_ns: int, progress: Progress = _noop) -> BackfillResult:
        rest, symbol = self._rest(iid)

        def parsed(rows: Sequence[list[Any]]) -> Iterator[tuple[int, tuple[Any, ...]]]:
            for row in rows:
                yield int(row[0]) * NS_PER_MS, tuple(_dec(v) for v in row[1:6])

        fetched = [row async for row in rest.iter_klines(
            symbol, interval.value, start_ns // NS_PER_MS, (end_ns - 1) // NS_PER_MS)]
        return await self._store_klines(iid, interval, parsed(fetched), "rest", progress)

    async def _store_klines(self, iid: InstrumentId, interval: Interval,
                            klines: Iterable[tuple[int, tuple[Any, ...]]], source: str,
                            progress: Progress) -> BackfillResult:
        result = BackfillResult(str(iid), "klines")
        now = self.clock.now_ns()
        rows = []
        for open_ns, (o, h, low, c, v) in klines:
            result.seen(open_ns)
            rows.append((str(iid), interval.value, "exchange", open_ns, o, h, low, c, v, 0,
                         now, now))
        result.rows = result.stored = len(rows)
        if rows:
            await self.history.tsdb.insert("bars", BAR_COLUMNS, rows)
        progress(result.rows, 1.0)
        return result

    async def compare(self, iid: InstrumentId, interval: Interval, start_ns: int,
                      end_ns: int, *, fetch: bool = True) -> list[Mismatch]:
        """Our bars against the venue's klines over [start, end): fetched from REST when
        possible (and stored), else the klines already stored (e.g. from an archive)."""
        step = interval.ns
        lo, hi = start_ns - start_ns % step, end_ns + (-end_ns % step)
        if fetch and route(iid).native and self.rest_for is not None:
            await self.rest_klines(iid, interval, start_ns=lo, end_ns=hi)
        ours = await self.history.bars_map(str(iid), interval, "trades", lo, hi)
        theirs = await self.history.bars_map(str(iid), interval, "exchange", lo, hi)
        if not theirs:
            return []
        # Compare only where the venue answered: outside its range nothing is known.
        first, last = min(theirs), max(theirs)
        ours = {t: v for t, v in ours.items() if first <= t <= last}
        return reconcile(ours, theirs)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _ordered(batch: list[ArchiveTrade]) -> bool:
    return batch[-1].trade_id - batch[0].trade_id < 10 * len(batch) + 1000


def _csv(path: Path) -> Iterator[list[str]]:
    """Rows of an archive CSV, or of the one CSV inside an archive zip."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".csv")]
            if len(names) != 1:
                raise Invalid(f"{path.name} should hold one CSV, holds {names[:5]}",
                              field="path")
            with archive.open(names[0]) as raw:
                yield from csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
        return
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.reader(handle)
