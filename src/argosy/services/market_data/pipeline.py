"""The live path: normalized messages in; clean trades, bars, books and tickers out.

Every connector hands its kernel messages to `Pipeline.ingest` (synchronously, from its
read loop). Per message the pipeline only does in-memory work: the service-level guards
(domain/cleaning.py), the bar chain (domain/bars.py), the service's own L2 book, and
appends to the storage buffers (writer.py) and bus batches (events.py). Everything that
awaits (tsdb inserts, bus publishes, cache writes) happens in `tick`, called by one
background loop, so a slow dependency delays a flush, never the feed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import structlog

from argosy.kernel.clock import Clock, LiveClock
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar, BookDelta, Interval, Message, QuoteTick, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.platform.cache.base import Cache
from argosy.services.market_data.domain.bars import BarChain, OpenBar
from argosy.services.market_data.domain.cleaning import (
    OutlierFilter,
    Reject,
    TradeGuard,
    crossed,
)
from argosy.services.market_data.events import MarketEvents
from argosy.services.market_data.writer import SeriesWriter
from argosy.venues.book import OrderBook

__all__ = ["Pipeline", "PipelineStats"]

log = structlog.get_logger("argosy.market_data.pipeline")

GapHandler = Callable[[str, int, int, int], None]  # instrument, first, last missing, ts


@dataclass(slots=True)
class PipelineStats:
    trades: int = 0
    quotes: int = 0
    deltas: int = 0
    bars: int = 0
    exchange_bars: int = 0
    snapshots: int = 0
    late_for_bar: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


class Pipeline:
    def __init__(
        self,
        writer: SeriesWriter,
        events: MarketEvents,
        cache: Cache | None,
        *,
        outliers: OutlierFilter | None = None,
        clock: Clock | None = None,
        on_gap: GapHandler | None = None,
        on_reject: Callable[[str], None] | None = None,
        on_resume: Callable[[str, int], None] | None = None,
        snapshot_depth: int = 0,
    ) -> None:
        self.writer, self.events, self.cache = writer, events, cache
        self.guard = TradeGuard()
        self.outliers = outliers or OutlierFilter()
        self.clock: Clock = clock or LiveClock()
        self.on_gap = on_gap
        self.on_resume = on_resume
        self.awaiting: set[str] = set()  # instruments whose next trade closes a gap
        self._on_reject = on_reject
        self.snapshot_depth = snapshot_depth
        self.stats = PipelineStats()
        self.subscribed: set[str] = set()
        self.chains: dict[str, BarChain] = {}
        self.books: dict[str, OrderBook] = {}
        self.pos = 0  # order of every stored delta, for rebuilding books from storage
        self._tickers: dict[str, dict[str, object]] = {}
        self._dirty: set[str] = set()
        self._dirty_books: set[str] = set()
        self._logged: dict[tuple[str, str], float] = {}
        # Trades repaired into the past miss the bars the chain still had open; such bars
        # are rebuilt from storage once they close (see `repaired`).
        self.repaired_windows: dict[str, list[tuple[int, int]]] = {}
        self.rebuild: list[tuple[str, int, int]] = []

    # --- routing ---------------------------------------------------------------------------
    def ingest(self, message: Message) -> None:
        key = str(message.instrument_id)
        if key not in self.subscribed:
            self._reject(Reject.UNSUBSCRIBED, key, "")
            return
        if isinstance(message, BookDelta):
            self._delta(key, message)
        elif isinstance(message, TradeTick):
            self._trade(key, message)
        elif isinstance(message, QuoteTick):
            self._quote(key, message)
        elif isinstance(message, Bar):
            self._exchange_bar(key, message)

    # --- trades ----------------------------------------------------------------------------
    def _trade(self, key: str, tick: TradeTick) -> None:
        verdict = self.guard.check(key, tick.trade_id, tick.ts_event_ns)
        if verdict.reject is not None:
            self._reject(verdict.reject, key, f"trade {tick.trade_id}")
            return
        if verdict.missing_from and self.on_gap is not None:
            self.on_gap(key, verdict.missing_from, verdict.missing_to, tick.ts_event_ns)
        price, qty = tick.price.value, tick.quantity.value
        reason = self.outliers.check(key, float(price), tick.ts_event_ns)
        if reason is not None:
            self._reject(Reject.OUTLIER, key, f"trade {tick.trade_id}: {reason}")
            return
        self.stats.trades += 1
        if key in self.awaiting and self.on_resume is not None:
            self.on_resume(key, tick.ts_event_ns)
        ident = tick.trade_id
        self.writer.add("trades", (
            key, "trade", tick.ts_event_ns, int(ident) if ident.isdigit() else 0, ident, price,
            qty, tick.aggressor_side.value, tick.ts_recv_ns, "live", self.clock.now_ns()))
        self.events.trade(tick)
        chain = self.chains.get(key)
        if chain is None:
            chain = self.chains[key] = BarChain()
        late = chain.late
        closed = chain.add(price, qty, tick.ts_event_ns)
        if chain.late != late:
            self.stats.late_for_bar += 1
        if closed:
            self._bars(tick.instrument_id, key, closed)
        ticker = self._ticker(key)
        ticker.update(last_price=tick.price.to_str(), last_qty=tick.quantity.to_str(),
                      last_side=tick.aggressor_side.value, last_trade_id=ident,
                      last_trade_ts_ns=tick.ts_event_ns)
        self._dirty.add(key)

    def repaired(self, key: str, first_ts: int, last_ts: int) -> None:
        """Trades between these times were stored after the fact (a repair)."""
        self.repaired_windows.setdefault(key, []).append((first_ts, last_ts))

    def _bars(self, iid: InstrumentId, key: str, closed: list[OpenBar]) -> None:
        now = self.clock.now_ns()
        windows = self.repaired_windows.get(key)
        if windows:
            for b in closed:
                if any(lo < b.ts_close and hi >= b.ts_open for lo, hi in windows):
                    self.rebuild.append((key, b.ts_open, b.ts_close))
            horizon = closed[-1].ts_open - Interval.D1.ns
            windows[:] = [w for w in windows if w[1] >= horizon]
        for b in closed:
            self.stats.bars += 1
            self.writer.add("bars", (key, b.interval.value, "trades", b.ts_open, b.open,
                                     b.high, b.low, b.close, b.volume, b.trades, now, now))
            self.events.bar(Bar(iid, b.interval, Price(b.open), Price(b.high), Price(b.low),
                                Price(b.close), Quantity(b.volume), b.ts_open, b.ts_close))

    def _exchange_bar(self, key: str, bar: Bar) -> None:
        """A venue kline: stored beside ours (source `exchange`) for reconciliation."""
        now = self.clock.now_ns()
        self.stats.exchange_bars += 1
        self.writer.add("bars", (key, bar.interval.value, "exchange", bar.ts_open_ns,
                                 bar.open.value, bar.high.value, bar.low.value,
                                 bar.close.value, bar.volume.value, 0, now, now))

    # --- quotes ----------------------------------------------------------------------------
    def _quote(self, key: str, quote: QuoteTick) -> None:
        bid, ask = quote.bid_price.value, quote.ask_price.value
        if crossed(float(bid), float(ask)):
            self._reject(Reject.CROSSED_QUOTE, key, f"bid {bid} >= ask {ask}")
            return
        self.stats.quotes += 1
        self.outliers.quote(key, float(bid), float(ask), quote.ts_event_ns)
        self.events.ticker(quote)
        self._ticker(key).update(
            bid=quote.bid_price.to_str(), bid_qty=quote.bid_qty.to_str(),
            ask=quote.ask_price.to_str(), ask_qty=quote.ask_qty.to_str(),
            quote_ts_ns=quote.ts_event_ns, ts_recv_ns=quote.ts_recv_ns)
        self._dirty.add(key)

    def _ticker(self, key: str) -> dict[str, object]:
        ticker = self._tickers.get(key)
        if ticker is None:
            ticker = self._tickers[key] = {"instrument_id": key}
        return ticker

    # --- book ------------------------------------------------------------------------------
    def _delta(self, key: str, delta: BookDelta) -> None:
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = OrderBook(key)
        price, qty = delta.price.value, delta.quantity.value
        book.side(delta.side).set(price, qty)
        book.last_update_id = delta.sequence
        self.pos += 1
        self.stats.deltas += 1
        self.writer.add("book_deltas", (
            key, delta.ts_event_ns, delta.ts_recv_ns, self.pos, delta.sequence,
            delta.side.value, price, qty, self.clock.now_ns()))
        self.events.deltas(key, [delta])
        self._dirty_books.add(key)

    def book(self, key: str) -> OrderBook | None:
        return self.books.get(key)

    def snapshot(self, key: str, reason: str) -> bool:
        """Store and publish the full book of `key` as it stands (after its last delta)."""
        book = self.books.get(key)
        if book is None or (not book.bids and not book.asks):
            return False
        bids, asks = book.depth(self.snapshot_depth or None)
        now = self.clock.now_ns()
        self.writer.add("book_snapshots", (
            key, now, self.pos, book.last_update_id, reason, [p for p, _ in bids],
            [q for _, q in bids], [p for p, _ in asks], [q for _, q in asks], now))
        self.events.snapshot(key, book.last_update_id, now,
                             [[_s(p), _s(q)] for p, q in bids], [[_s(p), _s(q)] for p, q in asks])
        self.stats.snapshots += 1
        return True

    def check_books(self) -> list[str]:
        """Books that changed since the last call and are crossed (the connector resyncs
        them; this is the service's own check on what it stores and serves)."""
        found = []
        for key in self._dirty_books:
            book = self.books.get(key)
            if book is not None and book.is_crossed():
                found.append(key)
                bid, ask = book.best_bid(), book.best_ask()
                self._reject(Reject.CROSSED_BOOK, key, f"best bid {bid} >= best ask {ask}")
        self._dirty_books.clear()
        return found

    # --- rejections --------------------------------------------------------------------------
    def _reject(self, reason: Reject, key: str, what: str) -> None:
        self.stats.rejected[reason.value] = self.stats.rejected.get(reason.value, 0) + 1
        if self._on_reject is not None:
            self._on_reject(reason.value)
        now = time.monotonic()
        if reason is not Reject.UNSUBSCRIBED and now - self._logged.get((key, reason), -1e9) > 60:
            self._logged[(key, reason)] = now
            log.warning("md_rejected", reason=reason.value, instrument=key, what=what[:200])

    # --- periodic (awaited by the service's loop) ------------------------------------------
    async def flush_cache(self) -> None:
        if self.cache is None or not self._dirty:
            return
        dirty, self._dirty = self._dirty, set()
        for key in dirty:
            await self.cache.set_json(f"ticker:{key}", self._tickers[key])
            book = self.books.get(key)
            if book is not None:
                bids, asks = book.depth(10)
                await self.cache.set_json(f"top:{key}", {
                    "instrument_id": key, "sequence": book.last_update_id,
                    "bids": [[_s(p), _s(q)] for p, q in bids],
                    "asks": [[_s(p), _s(q)] for p, q in asks]})

    def open_bar(self, key: str, interval: Interval) -> OpenBar | None:
        chain = self.chains.get(key)
        return chain.current(interval) if chain is not None else None


def _s(value: Decimal) -> str:
    """Canonical decimal text (no exponent, no trailing zeros), as the kernel writes it."""
    return f"{value.normalize():f}" if value else "0"
