"""Market data into the trading engine: marks for PnL and checks, books and trades for the
paper venues. From the bus (`md.book.>`, `md.trade.>`, `md.ticker.>`) as a live fan-out;
where no book arrives for an instrument the paper venues need, from the market-data HTTP
snapshot (`GET /api/v1/market/book`) instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import structlog

from argosy.kernel.errors import ArgosyError
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import BookDelta, QuoteTick, TradeTick, from_dict
from argosy.kernel.money import Price, Quantity
from argosy.platform.bus.base import Bus, Envelope, Subscription
from argosy.services.trading.marks import Marks
from argosy.services.trading.venues import VenueRegistry

__all__ = ["BookFetch", "MarketFeed"]

log = structlog.get_logger("argosy.trading.market")

BookFetch = Callable[[str], Awaitable[Mapping[str, Any]]]
_STALE_S = 10.0


def _levels(rows: Iterable[Any]) -> list[tuple[Price, Quantity]]:
    return [(Price(str(p)), Quantity(str(q))) for p, q in rows]


class MarketFeed:
    def __init__(self, marks: Marks, venues: VenueRegistry, fetch: BookFetch | None) -> None:
        self.marks, self.venues, self._fetch = marks, venues, fetch
        self._book_seen: dict[str, float] = {}
        self._books: dict[str, tuple[list[tuple[Price, Quantity]], list[tuple[Price, Quantity]],
                                     int]] = {}
        venues.on_new(lambda _account, handle: self._seed(handle.venue)
                      if handle.ephemeral else None)
        self.watch: set[str] = set()  # instruments the paper venues need books for

    def _paper(self) -> list[Any]:
        return [h.venue for h in self.venues.handles().values() if h.ephemeral]

    def _each(self, call: Callable[[Any], None]) -> None:
        for venue in self._paper():
            try:
                call(venue)
            except ArgosyError:  # the instrument is not listed on this paper venue
                continue

    def _seed(self, venue: Any) -> None:
        """A paper venue opened now starts from the last book known (a book is otherwise
        sent whole only at intervals)."""
        for instrument, (bids, asks, ts_ns) in self._books.items():
            try:
                venue.on_book_snapshot(InstrumentId.parse(instrument), bids, asks, ts_ns)
            except ArgosyError:
                continue

    # -- applying ------------------------------------------------------------------------
    def snapshot(self, instrument: str, bids: list[tuple[Price, Quantity]],
                 asks: list[tuple[Price, Quantity]], ts_ns: int) -> None:
        self._book_seen[instrument] = time.monotonic()
        self._books[instrument] = (bids, asks, ts_ns)
        self.marks.update(instrument, bid=bids[0][0].value if bids else None,
                          ask=asks[0][0].value if asks else None, ts_ns=ts_ns)
        iid = InstrumentId.parse(instrument)
        self._each(lambda v: v.on_book_snapshot(iid, bids, asks, ts_ns))

    def delta(self, delta: BookDelta) -> None:
        self._each(lambda v: v.on_book_delta(delta))

    def trade(self, trade: TradeTick) -> None:
        self.marks.update(str(trade.instrument_id), last=trade.price.value,
                          ts_ns=trade.ts_event_ns)
        self._each(lambda v: v.on_trade(trade))

    async def on_message(self, env: Envelope) -> None:
        data = env.json()
        kind = data.get("type")
        try:
            if kind == "book_snapshot":
                self.snapshot(data["instrument_id"], _levels(data["bids"]),
                              _levels(data["asks"]), int(data["ts_ns"]))
            elif kind == "book_deltas":
                for item in data["items"]:
                    message = from_dict(item)
                    if isinstance(message, BookDelta):
                        self.delta(message)
            elif kind == "trades":
                for item in data["items"]:
                    message = from_dict(item)
                    if isinstance(message, TradeTick):
                        self.trade(message)
            elif kind == "quote":
                quote = from_dict(data)
                if isinstance(quote, QuoteTick):
                    self.marks.update(str(quote.instrument_id), bid=quote.bid_price.value,
                                      ask=quote.ask_price.value, ts_ns=quote.ts_event_ns)
        except (ArgosyError, KeyError, ValueError, TypeError) as exc:
            log.warning("market.bad_message", topic=env.topic, error=str(exc))

    async def subscribe(self, bus: Bus) -> list[Subscription]:
        return [await bus.subscribe(p, self.on_message)
                for p in ("md.book.>", "md.trade.>", "md.ticker.>")]

    # -- HTTP fallback -------------------------------------------------------------------
    async def ensure_book(self, instrument: str) -> bool:
        """Fetch a snapshot now when no book was seen recently (order checks need a price,
        and the paper venue a book to match against); True when a book is known."""
        self.watch.add(instrument)
        seen = self._book_seen.get(instrument)
        if self._fetch is None or (seen is not None and time.monotonic() - seen < _STALE_S):
            return seen is not None
        try:
            book = await self._fetch(instrument)
        except ArgosyError as exc:
            log.info("market.snapshot_unavailable", instrument=instrument, error=exc.message)
            return seen is not None
        self.snapshot(instrument, _levels(book.get("bids", [])), _levels(book.get("asks", [])),
                      int(book.get("ts_ns") or time.time_ns()))
        return True

    async def poll(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            for instrument in list(self.watch):
                await self.ensure_book(instrument)

    def mark(self, instrument: str) -> Decimal | None:
        return self.marks.mark(instrument)
