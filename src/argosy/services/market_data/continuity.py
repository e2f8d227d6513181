"""Finding gaps in the record, writing each one down, and repairing what can be repaired.

Signals come from three places, synchronously, and are queued for `run` (which owns the
database writes and the REST calls):
- connector alarms: a dropped or stale connection opens a gap on every instrument of that
  market; a depth sequence break, a failed book sync or a crossed book opens a book gap;
- the pipeline's trade guard: a forward jump in trade ids is the exact range missing. It
  is attached to the open connection gap of that instrument if there is one (the ids
  the connector could not fetch back while reconnecting), to the service's own downtime
  after a restart (live mode seeds the guard with the last stored id), or recorded as a
  plain trade gap;
- the storage writer: rows dropped while the tsdb was down.
Repairs: trades by id from REST (`repair_max_trades` at most, else bars from klines and
the gap is `partial`), the book by the connector's resync (recorded with the snapshot the
pipeline stores then). A connection gap whose trades all arrived (the connector filled the
hole itself) is closed as repaired once trades flow again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from argosy.kernel.errors import ArgosyError
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval
from argosy.platform.db.engine import Database
from argosy.services.market_data.backfill import Backfiller
from argosy.services.market_data.domain.continuity import Cause, GapStatus, Stream
from argosy.services.market_data.models import GapRow
from argosy.services.market_data.store import MarketStore

__all__ = ["ContinuityTracker"]

log = structlog.get_logger("argosy.market_data.continuity")


@dataclass(slots=True)
class _Open:
    gap_id: int
    cause: Cause
    backfilled_before: int
    since_ns: int
    id_gap: bool = False


class ContinuityTracker:
    def __init__(self, db: Database, store: MarketStore, backfiller: Backfiller, *,
                 clock_ns: Callable[[], int], backfilled: Callable[[str], int],
                 repair_max_trades: int = 200_000, repair_delay_s: float = 2.0,
                 on_repaired: Callable[[str, int, int], None] | None = None) -> None:
        self.db, self.store, self.backfiller = db, store, backfiller
        self.now = clock_ns
        self.backfilled = backfilled  # trades the connector fetched back, per instrument
        self.repair_max_trades = repair_max_trades
        self.repair_delay_s = repair_delay_s
        self.on_repaired = on_repaired  # (instrument, first ts, last ts) of repaired trades
        self._queue: asyncio.Queue[tuple[str, tuple[Any, ...]]] = asyncio.Queue()
        self._open: dict[str, _Open] = {}  # connection gaps waiting for trades to resume
        self._book: dict[str, int] = {}  # open book gap per instrument
        self.awaiting_trade: set[str] = set()
        self.downtime: dict[str, int] = {}  # instrument -> last stored trade time
        self._repairs: set[asyncio.Task[None]] = set()
        self.repaired = 0

    # --- signals (sync) --------------------------------------------------------------------
    def connection_lost(self, instruments: list[str], cause: Cause, last_ts: dict[str, int],
                        last_id: dict[str, int | None]) -> None:
        for key in instruments:
            # A stale feed is closed by the watchdog, which then reports the disconnect:
            # one hole, recorded once, under its first cause.
            if key not in self.awaiting_trade:
                self._queue.put_nowait(("open", (key, cause, last_ts.get(key), last_id.get(key))))
                self.awaiting_trade.add(key)

    def trade_resumed(self, key: str, ts_ns: int) -> None:
        self.awaiting_trade.discard(key)
        self._queue.put_nowait(("resumed", (key, ts_ns)))

    def id_gap(self, key: str, first: int, last: int, ts_ns: int) -> None:
        self._queue.put_nowait(("ids", (key, first, last, ts_ns)))

    def book_gap(self, key: str, cause: Cause, detail: str) -> None:
        if key not in self._book:
            self._book[key] = -1  # reserved; the row id follows
            self._queue.put_nowait(("book", (key, cause, detail)))

    def book_resynced(self, key: str) -> None:
        if key in self._book:
            self._queue.put_nowait(("resynced", (key,)))

    def rebuild(self, key: str, start: int, end: int) -> None:
        """Bars closed live over repaired trades: recompute them from storage."""
        self._queue.put_nowait(("rebuild", (key, start, end)))

    def storage_dropped(self, key: str, stream: Stream, first_ts: int, last_ts: int,
                        first_id: int | None, last_id: int | None) -> None:
        self._queue.put_nowait(("dropped", (key, stream, first_ts, last_ts, first_id, last_id)))

    # --- the worker ------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            kind, args = await self._queue.get()
            try:
                await getattr(self, f"_on_{kind}")(*args)
            except ArgosyError as error:
                log.error("continuity_record_failed", signal=kind, error=error.message)

    async def drain(self) -> None:
        """Until every queued signal is recorded and every repair finished (tests)."""
        while not self._queue.empty() or self._repairs:  # noqa: ASYNC110  # two conditions
            await asyncio.sleep(0.05)

    async def _new(self, key: str, stream: Stream, cause: Cause, started: int, *,
                   first: int | None = None, last: int | None = None, detail: str = ""
                   ) -> int:
        now = self.now()
        row = GapRow(instrument_id=key, stream=stream.value, cause=cause.value,
                     status=GapStatus.OPEN.value, started_ns=started, ended_ns=None,
                     first_missing=first, last_missing=last, repaired=0, method="",
                     detail=detail, found_ns=now, updated_ns=now)
        async with self.db.transaction() as s:
            self.store.add(s, row)
            await s.flush()
            gap_id = row.id
        log.warning("md_gap", instrument=key, stream=stream.value, cause=cause.value,
                    first_missing=first, last_missing=last, gap=gap_id)
        return gap_id

    async def _update(self, gap_id: int, **fields: Any) -> None:
        async with self.db.transaction() as s:
            row = await self.store.gap(s, gap_id)
            if row is not None:
                for name, value in fields.items():
                    setattr(row, name, value)
                row.updated_ns = self.now()

    async def _on_open(self, key: str, cause: Cause, last_ts: int | None,
                       last_id: int | None) -> None:
        started = last_ts or self.now()
        gap_id = await self._new(key, Stream.TRADES, cause, started,
                                 first=None if last_id is None else last_id + 1)
        self._open[key] = _Open(gap_id, cause, self.backfilled(key), started)

    async def _on_resumed(self, key: str, ts_ns: int) -> None:
        self._spawn(self._close_when_settled(key, ts_ns))

    async def _close_when_settled(self, key: str, ts_ns: int) -> None:
        await asyncio.sleep(self.repair_delay_s)  # let the connector's backfill land first
        gap = self._open.pop(key, None)
        if gap is None:
            return
        if gap.id_gap:  # the ids the connector could not recover are being repaired
            await self._update(gap.gap_id, ended_ns=ts_ns)
            return
        fetched = self.backfilled(key) - gap.backfilled_before
        await self._update(
            gap.gap_id, ended_ns=ts_ns, status=GapStatus.REPAIRED.value, repaired=fetched,
            method="connector_rest" if fetched else "none_missed",
            detail=(f"{fetched} trades fetched back over REST by the connector" if fetched
                    else "trade ids continued without a hole"))

    async def _on_ids(self, key: str, first: int, last: int, ts_ns: int) -> None:
        gap = self._open.get(key)
        if gap is not None:
            gap.id_gap = True
            gap_id = gap.gap_id
            await self._update(gap_id, first_missing=first, last_missing=last, ended_ns=ts_ns)
        elif key in self.downtime:
            gap_id = await self._new(key, Stream.TRADES, Cause.DOWNTIME, self.downtime.pop(key),
                                     first=first, last=last, detail="service was not running")
            await self._update(gap_id, ended_ns=ts_ns)
        else:
            gap_id = await self._new(key, Stream.TRADES, Cause.TRADE_GAP, ts_ns, first=first,
                                     last=last)
        self._spawn(self._repair_trades(gap_id, key, first, last))

    async def _on_book(self, key: str, cause: Cause, detail: str) -> None:
        self._book[key] = await self._new(key, Stream.BOOK, cause, self.now(), detail=detail)

    async def _on_resynced(self, key: str) -> None:
        gap_id = self._book.pop(key, None)
        if gap_id is None or gap_id < 0:
            return
        await self._update(
            gap_id, ended_ns=self.now(), status=GapStatus.REPAIRED.value,
            method="book_snapshot", repaired=1,
            detail="book rebuilt from a REST snapshot and stored as a snapshot; the depth "
                   "diffs in between are not recoverable (Binance keeps no history of them)")

    async def _on_dropped(self, key: str, stream: Stream, first_ts: int, last_ts: int,
                          first_id: int | None, last_id: int | None) -> None:
        gap_id = await self._new(key, stream, Cause.STORAGE, first_ts, first=first_id,
                                 last=last_id, detail="rows dropped while the tsdb was down")
        await self._update(gap_id, ended_ns=last_ts)
        if stream is Stream.TRADES and first_id is not None and last_id is not None:
            self._spawn(self._repair_trades(gap_id, key, first_id, last_id))

    async def _on_rebuild(self, key: str, start: int, end: int) -> None:
        await self.backfiller.history.rebuild_bars(key, "trade", start, end, self.now())

    # --- repairs ---------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)

    async def _repair_trades(self, gap_id: int, key: str, first: int, last: int) -> None:
        iid = InstrumentId.parse(key)
        wanted = last - first + 1
        error = ""
        if wanted <= self.repair_max_trades:
            for attempt in range(3):
                await asyncio.sleep(self.repair_delay_s * (1 + 4 * attempt))
                try:
                    result = await self.backfiller.rest_trades(iid, from_id=first, to_id=last)
                except ArgosyError as exc:
                    error = exc.message
                    continue
                have = len(await self.backfiller.history.stored_ids(key, "trade", first, last))
                if have == wanted:
                    self.repaired += 1
                    if self.on_repaired is not None and result.first_ts is not None:
                        self.on_repaired(key, result.first_ts, result.last_ts or result.first_ts)
                    await self._update(gap_id, status=GapStatus.REPAIRED.value, repaired=have,
                                       method="rest_historical_trades",
                                       detail=f"{result.stored} trades fetched by id")
                    return
                error = f"REST returned {have} of {wanted} missing trades"
        else:
            error = f"{wanted} trades missing; repairs stop at {self.repair_max_trades}"
        await self._bars_from_klines(gap_id, iid, error)

    async def _bars_from_klines(self, gap_id: int, iid: InstrumentId, why: str) -> None:
        async with self.db.read() as s:
            row = await self.store.gap(s, gap_id)
        if row is None:
            return
        try:
            end = row.ended_ns or self.now()
            result = await self.backfiller.rest_klines(iid, Interval.M1, start_ns=row.started_ns,
                                                       end_ns=end + Interval.M1.ns)
        except ArgosyError as exc:
            await self._update(gap_id, status=GapStatus.UNREPAIRABLE.value,
                               detail=f"{why}; klines failed too: {exc.message}")
            return
        status = GapStatus.PARTIAL if result.rows else GapStatus.UNREPAIRABLE
        await self._update(gap_id, status=status.value, method="rest_klines",
                           repaired=result.rows,
                           detail=f"{why}; {result.rows} venue 1m klines stored for the window")
