"""Batched inserts into the tsdb: one buffer per table, flushed by size or by age.

ClickHouse wants few large inserts (each insert is a part to merge later), while the feed
delivers one row at a time; buffering bounds both the insert rate (at most one per table
per `flush_interval_s`, or one per `flush_rows` rows) and how much a crash can lose (one
interval). The hot path only appends to a list; the flush runs in the service's
background task, which flushes what is left when it is cancelled at shutdown. While the
tsdb is down rows are kept up to `max_rows` in all; beyond that the oldest are dropped,
counted, and reported to `on_drop` so the hole is recorded as a gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from argosy.kernel.errors import ArgosyError
from argosy.platform.tsdb.base import TimeSeriesDB
from argosy.services.market_data.tables import (
    BAR_COLUMNS,
    DELTA_COLUMNS,
    SNAPSHOT_COLUMNS,
    TRADE_COLUMNS,
)

__all__ = ["SeriesWriter"]

log = structlog.get_logger("argosy.market_data.writer")

Row = tuple[Any, ...]
COLUMNS: dict[str, Sequence[str]] = {
    "trades": TRADE_COLUMNS, "bars": BAR_COLUMNS, "book_deltas": DELTA_COLUMNS,
    "book_snapshots": SNAPSHOT_COLUMNS,
}


class SeriesWriter:
    def __init__(
        self,
        tsdb: TimeSeriesDB,
        *,
        flush_rows: int = 20_000,
        flush_interval_s: float = 0.5,
        max_rows: int = 2_000_000,
        on_insert: Callable[[str, int, float], None] | None = None,
        on_drop: Callable[[str, list[Row]], None] | None = None,
    ) -> None:
        self.tsdb = tsdb
        self.flush_rows = flush_rows
        self.flush_interval_s = flush_interval_s
        self.max_rows = max_rows
        self._on_insert = on_insert
        self._on_drop = on_drop
        self._buffers: dict[str, list[Row]] = {t: [] for t in COLUMNS}
        self._due = asyncio.Event()
        self._lock = asyncio.Lock()
        self.written: dict[str, int] = dict.fromkeys(COLUMNS, 0)
        self.dropped = 0
        self.failures = 0
        self._error_logged = False

    # --- the hot path: append only -------------------------------------------------------
    def add(self, table: str, row: Row) -> None:
        buffer = self._buffers[table]
        buffer.append(row)
        if len(buffer) >= self.flush_rows:
            self._due.set()

    def extend(self, table: str, rows: Sequence[Row]) -> None:
        buffer = self._buffers[table]
        buffer.extend(rows)
        if len(buffer) >= self.flush_rows:
            self._due.set()

    def pending(self) -> int:
        return sum(len(b) for b in self._buffers.values())

    # --- flushing ------------------------------------------------------------------------
    async def flush(self) -> None:
        """Insert everything buffered; rows of a failed insert stay for the next try."""
        async with self._lock:
            for table, buffer in self._buffers.items():
                if not buffer:
                    continue
                rows = buffer[:]
                del buffer[: len(rows)]
                started = time.perf_counter()
                try:
                    await self.tsdb.insert(table, COLUMNS[table], rows)
                except ArgosyError as error:
                    buffer[:0] = rows
                    self.failures += 1
                    if not self._error_logged:
                        self._error_logged = True
                        log.error("tsdb_insert_failed", table=table, rows=len(rows),
                                  error=error.message)
                    self._bound()
                    raise
                self._error_logged = False
                self.written[table] += len(rows)
                if self._on_insert is not None:
                    self._on_insert(table, len(rows), time.perf_counter() - started)

    def _bound(self) -> None:
        excess = self.pending() - self.max_rows
        if excess <= 0:
            return
        table = max(self._buffers, key=lambda t: len(self._buffers[t]))
        buffer = self._buffers[table]
        lost = buffer[: min(excess, len(buffer))]
        del buffer[: len(lost)]
        self.dropped += len(lost)
        log.error("tsdb_buffer_overflow", table=table, dropped=len(lost))
        if self._on_drop is not None:
            self._on_drop(table, lost)

    async def run(self) -> None:
        """Flush on size or age until cancelled; then flush what is left."""
        backoff = self.flush_interval_s
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._due.wait(), backoff)
                self._due.clear()
                try:
                    await self.flush()
                    backoff = self.flush_interval_s
                except ArgosyError:
                    backoff = min(backoff * 2, 10.0)
        except asyncio.CancelledError:
            with contextlib.suppress(ArgosyError):
                await self.flush()
            raise
