"""What the market-data service publishes, batched so the bus is never the bottleneck.

The feed delivers hundreds of messages a second per instrument; a JetStream publish costs
a round trip. Trades and book deltas are therefore collected per instrument and sent as
one message per `interval_s` window (split at `max_items`), tickers are conflated to the
latest quote per window (a ticker is a current value, not a history), and bars,
snapshots and alarms, which are rare, go out in the next window as they are. Payload
shapes: contracts/v1/market_data.py.
Market data on the bus is a live view, not the record (storage is): when the bus is down
the buffers are bounded and the oldest batches are dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

import orjson
import structlog

from argosy.contracts import topics
from argosy.contracts.v1.market_data import (
    alarm_payload,
    book_deltas_payload,
    book_snapshot_payload,
    trades_payload,
)
from argosy.kernel.messages import Bar, BookDelta, QuoteTick, TradeTick, WireDict, to_dict
from argosy.platform.bus.base import Bus

__all__ = ["MarketEvents"]

log = structlog.get_logger("argosy.market_data.events")


class MarketEvents:
    def __init__(self, bus: Bus, *, interval_s: float = 0.1, max_pending: int = 200_000,
                 max_items: int = 1000) -> None:
        self.bus = bus
        self.max_items = max_items  # per message: ~250 bytes each, far below NATS's 1 MB
        self.interval_s = interval_s
        self.max_pending = max_pending
        self._trades: dict[str, list[WireDict]] = defaultdict(list)
        self._deltas: dict[str, list[WireDict]] = defaultdict(list)
        self._tickers: dict[str, QuoteTick] = {}
        self._single: list[tuple[str, dict[str, Any]]] = []
        self._pending = 0
        self.published = 0
        self.dropped = 0
        self._error_logged = False

    # --- collecting (sync, called from the feed callback) ---------------------------------
    def trade(self, tick: TradeTick) -> None:
        self._trades[str(tick.instrument_id)].append(to_dict(tick))
        self._count(1)

    def deltas(self, instrument_id: str, deltas: list[BookDelta]) -> None:
        self._deltas[instrument_id].extend(to_dict(d) for d in deltas)
        self._count(len(deltas))

    def ticker(self, quote: QuoteTick) -> None:
        self._tickers[str(quote.instrument_id)] = quote

    def bar(self, bar: Bar) -> None:
        topic = topics.market_bar(bar.interval.value, str(bar.instrument_id))
        self._single.append((topic, dict(to_dict(bar))))

    def snapshot(self, instrument_id: str, sequence: int, ts_ns: int,
                 bids: list[list[str]], asks: list[list[str]]) -> None:
        self._single.append((topics.market("book", instrument_id),
                             book_snapshot_payload(instrument_id, sequence, ts_ns, bids, asks)))

    def alarm(self, venue: str, alarm: dict[str, Any]) -> None:
        self._single.append((topics.market_alarm(venue), alarm_payload(alarm)))

    def _count(self, n: int) -> None:
        self._pending += n
        if self._pending > self.max_pending:
            dropped = sum(len(v) for v in self._trades.values()) + sum(
                len(v) for v in self._deltas.values())
            self._trades.clear()
            self._deltas.clear()
            self.dropped += dropped
            self._pending = 0
            log.warning("md_bus_backlog_dropped", messages=dropped)

    # --- publishing -----------------------------------------------------------------------
    def _take(self) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        step = self.max_items
        for iid, items in self._trades.items():
            topic = topics.market("trade", iid)
            out += [(topic, trades_payload(iid, items[i:i + step]))
                    for i in range(0, len(items), step)]
        for iid, items in self._deltas.items():
            topic = topics.market("book", iid)
            out += [(topic, book_deltas_payload(iid, items[i:i + step]))
                    for i in range(0, len(items), step)]
        for iid, quote in self._tickers.items():
            out.append((topics.market("ticker", iid), dict(to_dict(quote))))
        out.extend(self._single)
        self._trades = defaultdict(list)
        self._deltas = defaultdict(list)
        self._tickers = {}
        self._single = []
        self._pending = 0
        return out

    async def flush(self) -> int:
        batch = self._take()
        for topic, payload in batch:
            try:
                await self.bus.publish(topic, orjson.dumps(payload))
                self.published += 1
                self._error_logged = False
            except Exception as error:  # a live view: count, go on
                self.dropped += 1
                if not self._error_logged:
                    self._error_logged = True
                    log.warning("md_publish_failed", topic=topic, error=str(error))
        return len(batch)

    async def run(self) -> None:
        task = asyncio.current_task()
        try:
            while True:
                await asyncio.sleep(self.interval_s)
                await self.flush()
                if task is not None and task.cancelling():
                    # nats-py swallows a cancel that lands in its forced flush (a publish
                    # over its pending-bytes limit): honour it, or a stop would never end
                    raise asyncio.CancelledError
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.flush()
            raise
