"""Trade ids in strict order per (symbol, stream kind), with gaps filled from REST.

Live trades that arrive while a gap is being fetched are held back and released after the
backfilled ones, so a consumer never sees a trade id go backwards. A gap that cannot be
filled (REST down, too many ids) is let through with a `trade_gap` alarm.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from argosy.kernel.errors import VenueError
from argosy.kernel.messages import TradeTick
from argosy.venues.binance.payloads import MalformedMessage
from argosy.venues.binance.sequencing import IdSequencer, VerdictKind
from argosy.venues.binance.streams import StreamKind

__all__ = ["TradeGate"]

Key = tuple[str, StreamKind]
Fetch = Callable[[str, StreamKind, int, int], AsyncIterator[TradeTick]]


class TradeGate:
    def __init__(
        self,
        emit: Callable[[TradeTick], None],
        fetch: Fetch | None,
        alarm: Callable[..., None],
        counters: Any,  # FeedStats: trades, duplicates, late, trade_gaps, backfilled
        max_backfill: int,
    ) -> None:
        self._emit = emit
        self._fetch = fetch
        self._alarm = alarm
        self._stats = counters
        self._max = max_backfill
        self._seq: IdSequencer[Key] = IdSequencer()
        self._holds: dict[Key, list[TradeTick]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def last_id(self, symbol: str, kind: StreamKind) -> int | None:
        return self._seq.last((symbol, kind))

    def offer(self, symbol: str, kind: StreamKind, tick: TradeTick, backfill: bool = True) -> None:
        key = (symbol, kind)
        held = self._holds.get(key)
        if held is not None:
            held.append(tick)
            return
        ident = int(tick.trade_id)
        verdict = self._seq.check(key, ident)
        if verdict.kind is VerdictKind.DUPLICATE:
            self._stats.duplicates += 1
            return
        if verdict.kind is VerdictKind.LATE:
            self._stats.late += 1
            return
        if verdict.kind is VerdictKind.GAP:
            missing = verdict.missing_to - verdict.missing_from + 1
            if backfill and self._fetch is not None and missing <= self._max:
                self._holds[key] = [tick]
                task = asyncio.create_task(
                    self._backfill(key, verdict.missing_from, verdict.missing_to)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
            self._stats.trade_gaps += 1
            self._alarm("trade_gap", f"{missing} {kind.value} ids missed on {symbol}", symbol,
                        first=verdict.missing_from, last=verdict.missing_to)
        self._seq.accept(key, ident)
        self._stats.trades += 1
        self._emit(tick)

    async def _backfill(self, key: Key, first: int, last: int) -> None:
        symbol, kind = key
        assert self._fetch is not None
        try:
            async for tick in self._fetch(symbol, kind, first, last):
                ident = int(tick.trade_id)
                if self._seq.check(key, ident).accepted:
                    self._seq.accept(key, ident)
                    self._stats.backfilled += 1
                    self._stats.trades += 1
                    self._emit(tick)
        except (VenueError, MalformedMessage) as error:
            self._alarm("rest_error", f"trade backfill of {symbol} failed: {error}", symbol)
        finally:
            for tick in self._holds.pop(key, []):
                self.offer(symbol, kind, tick, backfill=False)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
