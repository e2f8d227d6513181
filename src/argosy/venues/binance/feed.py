"""Binance market data for one market, normalized: the connector services build on.

`BinanceMarketFeed` subscribes streams through `BinanceStreamClient`, turns frames into
kernel messages (TradeTick, QuoteTick, Bar, BookDelta) with canonical ids, and keeps every
subscribed book synced with `BookSync`, fetching REST snapshots whenever the rule asks for
one. What it promises a consumer:
- trades arrive once each, in strictly increasing id order per instrument; ids missed while
  disconnected are fetched from REST (historicalTrades / aggTrades) and delivered in place,
  live trades being held back until the hole is filled (an alarm if it cannot be);
- book deltas, applied in order to an empty book, always reproduce the connector's book,
  including across resyncs (a resync publishes the difference to the new snapshot);
- every hole it knows of is an alarm: stale_feed, disconnected, sequence_gap,
  book_sync_failed, crossed_book, trade_gap, rest_error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from argosy.kernel.clock import Clock, LiveClock
from argosy.kernel.errors import VenueError
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import BookDelta, Interval, Message, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.venues.alarms import AlarmHandler, FeedAlarm
from argosy.venues.binance._trades import TradeGate
from argosy.venues.binance.book_sync import BookSync, SyncOutcome, SyncResult, SyncState
from argosy.venues.binance.instruments import VenueInstrument
from argosy.venues.binance.markets import BinanceMarket, spec
from argosy.venues.binance.normalize import (
    SymbolMap,
    agg_trade_tick,
    book_deltas,
    kline_bar,
    quote_tick,
    rest_trade_tick,
    trade_tick,
)
from argosy.venues.binance.payloads import DepthSnapshot, parse_depth_diff
from argosy.venues.binance.rest import BinanceRestClient
from argosy.venues.binance.sequencing import IdSequencer
from argosy.venues.binance.streams import (
    StreamKind,
    StreamName,
    agg_trade_stream,
    book_ticker_stream,
    depth_stream,
    kline_stream,
    parse_stream,
    trade_stream,
)
from argosy.venues.binance.ws import BinanceStreamClient, StreamSettings
from argosy.venues.book import OrderBook

__all__ = ["BinanceMarketFeed", "FeedSettings", "FeedStats"]


@dataclass(frozen=True, slots=True)
class FeedSettings:
    depth_limit: int = 1000
    depth_speed: str = "100ms"
    max_sync_attempts: int = 5  # snapshots tried before book_sync_failed
    sync_retry_s: float = 0.25  # doubled per failed attempt
    backfill_trades: bool = True
    backfill_max_ids: int = 100_000
    emit_book_deltas: bool = True
    resync_on_crossed: bool = True


@dataclass(slots=True)
class FeedStats:
    trades: int = 0
    duplicates: int = 0
    late: int = 0
    trade_gaps: int = 0
    backfilled: int = 0
    quotes: int = 0
    bars: int = 0
    book_updates: int = 0
    book_ignored: int = 0
    sequence_gaps: int = 0
    snapshots: int = 0
    syncs: int = 0
    sync_failures: int = 0
    crossed: int = 0
    unknown_symbol: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class BinanceMarketFeed:
    """Normalized market data for one Binance market (spot or USD-M)."""

    def __init__(
        self,
        market: BinanceMarket,
        on_message: Callable[[Message], None],
        *,
        on_alarm: AlarmHandler | None = None,
        rest: BinanceRestClient | None = None,
        ws_url: str | None = None,
        rest_url: str | None = None,
        settings: FeedSettings | None = None,
        stream_settings: StreamSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.market = BinanceMarket(market)
        self.settings = settings or FeedSettings()
        self.clock: Clock = clock or LiveClock()
        self.on_message = on_message
        self.on_alarm = on_alarm
        self._owns_rest = rest is None
        self.rest = rest or BinanceRestClient(self.market, base_url=rest_url, clock=self.clock)
        self.stream = BinanceStreamClient(
            self.market, self._on_data, base_url=ws_url, settings=stream_settings,
            on_alarm=self._alarm, clock=self.clock,
        )
        self.symbols = SymbolMap()
        self.stats = FeedStats()
        self._rule = spec(self.market).depth_rule
        self._names: dict[str, StreamName] = {}
        self._books: dict[str, BookSync] = {}
        self._sync_tasks: dict[str, asyncio.Task[None]] = {}
        self._sync_attempts: dict[str, int] = {}
        self.trades = TradeGate(
            self.on_message,
            self._fetch_trades if self.settings.backfill_trades else None,
            self._alarm_now,
            self.stats,
            self.settings.backfill_max_ids,
        )
        self._quote_seq: IdSequencer[str] = IdSequencer()
        self._bar_seq: IdSequencer[tuple[str, str]] = IdSequencer()

    # --- setup --------------------------------------------------------------------------

    async def load_instruments(self, symbols: list[str] | None = None) -> list[VenueInstrument]:
        info = await self.rest.exchange_info(symbols)
        wanted = set(symbols or [])
        chosen = [vi for vi in info.instruments if not wanted or vi.symbol in wanted]
        for vi in chosen:
            self.symbols.add(vi.symbol, vi.id)
        return chosen

    def add_instrument(self, symbol: str, instrument_id: InstrumentId) -> None:
        self.symbols.add(symbol, instrument_id)

    async def subscribe(
        self,
        symbol: str,
        *,
        trades: bool = True,
        agg_trades: bool = False,
        quotes: bool = True,
        book: bool = True,
        klines: Iterable[Interval | str] = (),
    ) -> list[str]:
        names = self.stream_names(
            symbol, trades=trades, agg_trades=agg_trades, quotes=quotes, book=book,
            klines=klines,
        )
        if book:
            self.track_book(symbol)
        await self.stream.subscribe(names)
        return names

    def track_book(self, symbol: str) -> BookSync:
        """Keep a book for `symbol` from its depth frames (subscribe() does this)."""
        return self._books.setdefault(symbol.upper(), BookSync(symbol.upper(), self._rule))

    def apply_snapshot(self, symbol: str, snapshot: DepthSnapshot) -> SyncOutcome:
        """Offer a snapshot obtained elsewhere (an archive, a test) to `symbol`'s book."""
        sync = self.track_book(symbol)
        result = sync.on_snapshot(snapshot)
        if result.outcome is SyncOutcome.SYNCED:
            self._publish_sync(symbol.upper(), sync, result, self.clock.now_ns())
        return result.outcome

    def stream_names(
        self,
        symbol: str,
        *,
        trades: bool = True,
        agg_trades: bool = False,
        quotes: bool = True,
        book: bool = True,
        klines: Iterable[Interval | str] = (),
    ) -> list[str]:
        names = [trade_stream(symbol)] if trades else []
        names += [agg_trade_stream(symbol)] if agg_trades else []
        names += [book_ticker_stream(symbol)] if quotes else []
        names += [depth_stream(symbol, self.settings.depth_speed)] if book else []
        names += [kline_stream(symbol, str(Interval(i).value)) for i in klines]
        return names

    async def close(self) -> None:
        await self.stream.close()
        await self.trades.close()
        for task in self._sync_tasks.values():
            task.cancel()
        for task in self._sync_tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._owns_rest:
            await self.rest.aclose()

    def book(self, symbol: str) -> OrderBook | None:
        """The synced book of `symbol`, or None while it is being (re)built."""
        sync = self._books.get(symbol.upper())
        return sync.book if sync is not None and sync.state is SyncState.SYNCED else None

    def sync_state(self, symbol: str) -> SyncState | None:
        sync = self._books.get(symbol.upper())
        return None if sync is None else sync.state

    # --- frames -------------------------------------------------------------------------

    def _on_data(self, stream: str, data: dict[str, Any], recv_ns: int) -> None:
        name = self._names.get(stream)
        if name is None:
            name = self._names[stream] = parse_stream(stream)
        kind = name.kind
        self.stats.by_kind[kind.value] = self.stats.by_kind.get(kind.value, 0) + 1
        if kind is StreamKind.DEPTH:
            self._depth(data, recv_ns)
            return
        iid = self.symbols.get(name.symbol)
        if iid is None:
            self.stats.unknown_symbol += 1
            return
        if kind is StreamKind.TRADE:
            self.trades.offer(name.symbol, kind, trade_tick(data, iid, recv_ns))
        elif kind is StreamKind.AGG_TRADE:
            self.trades.offer(name.symbol, kind, agg_trade_tick(data, iid, recv_ns))
        elif kind is StreamKind.BOOK_TICKER:
            quote = quote_tick(data, iid, recv_ns)  # parse first: bad frames are counted
            update_id = data.get("u")
            if isinstance(update_id, int) and not self._quote_seq.offer(
                name.symbol, update_id
            ).accepted:
                self.stats.duplicates += 1
                return
            self.stats.quotes += 1
            self.on_message(quote)
        elif kind is StreamKind.KLINE:
            bar = kline_bar(data, iid)
            if bar is not None and self._bar_seq.offer(
                (name.symbol, name.param), bar.ts_open_ns
            ).accepted:
                self.stats.bars += 1
                self.on_message(bar)

    # --- trades -------------------------------------------------------------------------

    async def _fetch_trades(
        self, symbol: str, kind: StreamKind, first: int, last: int
    ) -> AsyncIterator[TradeTick]:
        iid = self.symbols.get(symbol)
        assert iid is not None
        if kind is StreamKind.TRADE:
            async for row in self.rest.iter_historical_trades(symbol, first, last):
                yield rest_trade_tick(row, iid, self.clock.now_ns())
        else:
            async for row in self.rest.iter_agg_trades(symbol, first, last):
                yield agg_trade_tick(row, iid, self.clock.now_ns())

    # --- book ---------------------------------------------------------------------------

    def _depth(self, data: dict[str, Any], recv_ns: int) -> None:
        diff = parse_depth_diff(data)
        sync = self._books.get(diff.symbol)
        if sync is None:
            return
        result = sync.on_diff(diff)
        self._after_sync(diff.symbol, sync, result, recv_ns)

    def _after_sync(self, symbol: str, sync: BookSync, result: SyncResult, recv_ns: int) -> None:
        outcome = result.outcome
        if outcome is SyncOutcome.APPLIED:
            self.stats.book_updates += 1
            iid = self.symbols.get(symbol)
            if iid is not None and self.settings.emit_book_deltas:
                for delta in book_deltas(result.applied[0], iid, recv_ns):
                    self.on_message(delta)
            if sync.book.is_crossed():
                self._crossed(symbol, sync)
        elif outcome is SyncOutcome.IGNORED:
            self.stats.book_ignored += 1
        elif outcome is SyncOutcome.SYNCED:
            self._publish_sync(symbol, sync, result, recv_ns)
        elif outcome is SyncOutcome.GAP:
            self.stats.sequence_gaps += 1
            self._alarm_now("sequence_gap", f"depth sequence broke on {symbol}; resyncing",
                            symbol, book_id=sync.book.last_update_id)
            self._ensure_resync(symbol)
        elif outcome in (SyncOutcome.BUFFERED, SyncOutcome.SNAPSHOT_STALE):
            self._ensure_resync(symbol)

    def _publish_sync(self, symbol: str, sync: BookSync, result: SyncResult, recv_ns: int) -> None:
        self.stats.syncs += 1
        self._sync_attempts[symbol] = 0
        iid = self.symbols.get(symbol)
        if iid is None or result.previous is None or not self.settings.emit_book_deltas:
            return
        seq = sync.book.last_update_id
        for side, price, qty in result.previous.diff_to(sync.book):
            self.on_message(
                BookDelta(iid, side, Price(price), Quantity(qty), seq, recv_ns, recv_ns)
            )

    def _crossed(self, symbol: str, sync: BookSync) -> None:
        self.stats.crossed += 1
        bid, ask = sync.book.best_bid(), sync.book.best_ask()
        self._alarm_now("crossed_book", f"{symbol} book crossed: bid {bid} >= ask {ask}",
                        symbol, book_id=sync.book.last_update_id)
        if self.settings.resync_on_crossed:
            sync.reset()
            self._ensure_resync(symbol)

    def _ensure_resync(self, symbol: str) -> None:
        task = self._sync_tasks.get(symbol)
        if task is None or task.done():
            self._sync_tasks[symbol] = asyncio.create_task(self._resync(symbol))

    async def _resync(self, symbol: str) -> None:
        sync = self._books[symbol]
        while sync.state is SyncState.BUFFERING:
            attempt = self._sync_attempts.get(symbol, 0)
            if attempt >= self.settings.max_sync_attempts:
                self.stats.sync_failures += 1
                self._alarm_now("book_sync_failed",
                                f"{symbol}: no snapshot chained with the stream after "
                                f"{attempt} attempts", symbol, attempts=attempt)
                return
            self._sync_attempts[symbol] = attempt + 1
            if attempt:
                await asyncio.sleep(self.settings.sync_retry_s * 2 ** (attempt - 1))
            try:
                snapshot = await self.rest.depth(symbol, self.settings.depth_limit)
            except VenueError as error:
                self._alarm_now("rest_error", f"depth snapshot failed: {error}", symbol)
                continue
            self.stats.snapshots += 1
            result = sync.on_snapshot(snapshot)
            if result.outcome is SyncOutcome.SYNCED:
                self._publish_sync(symbol, sync, result, self.clock.now_ns())

    # --- alarms -------------------------------------------------------------------------

    def _alarm(self, alarm: FeedAlarm) -> None:
        if self.on_alarm is not None:
            self.on_alarm(alarm)

    def _alarm_now(self, kind: str, message: str, symbol: str = "", **details: Any) -> None:
        self._alarm(FeedAlarm("binance", kind, message, self.clock.now_ns(),
                              self.market.value, symbol, details))
