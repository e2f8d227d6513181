"""The event-driven backtester: a strategy, a `SimClock` and the paper venue over recorded
data.

The strategy runs exactly as it would live: the same callbacks, an order port that is the
paper venue (the matching code paper trading uses), time from an injected clock. Modes:
- bar: each bar first reaches the venue at its open (orders from the previous close fill
  at this open, resting orders meet the bar's path), then the clock moves to the close and
  the strategy sees the bar;
- trade: each recorded trade reaches the venue (market orders fill at the next trade),
  then the strategy; bars built from the trades reach `on_bar`;
- book: a depth snapshot, then every delta and trade in receive order; takers walk the
  recorded book; `on_book` is called once per batch of deltas with one timestamp.
Several instruments are merged by timestamp (ties keep the order of `spec.instruments`).
Nothing here reads the wall clock for the simulation or iterates an unordered container,
so the same inputs give byte-identical fills (`BacktestResult.fills_digest`).
"""

from __future__ import annotations

import heapq
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from argosy.kernel.clock import SimClock
from argosy.kernel.instruments import Instrument, InstrumentId
from argosy.kernel.messages import Bar, BookDelta, TradeTick
from argosy.kernel.orders import VenueFill
from argosy.services.strategy.backtest.data import (
    Catalog,
    instrument_for,
    no_data,
    read_bars,
    read_events,
    read_trades,
)
from argosy.services.strategy.backtest.port import BacktestPort
from argosy.services.strategy.backtest.result import BacktestResult, build_result
from argosy.services.strategy.backtest.spec import BacktestSpec
from argosy.services.strategy.domain.bars import BarBuilder
from argosy.services.strategy.domain.strategy import Strategy, StrategyContext
from argosy.venues.paper import FeeSchedule, PaperSettings, PaperVenue
from argosy.venues.paper.recorded import BookSnapshot, RecordedEvent

__all__ = ["Feed", "load_feed", "run_backtest"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Feed:
    """The run's instruments and its events, merged and in dispatch order."""

    instruments: dict[InstrumentId, Instrument]
    bars: list[Bar]  # bar mode
    events: list[RecordedEvent]  # trade and book modes
    warm_up_until: int | None = None  # book mode: events before it only rebuild the book

    def __len__(self) -> int:
        return len(self.bars) if self.bars else len(self.events)


def _ts(event: RecordedEvent) -> int:
    return event.ts_ns if type(event) is BookSnapshot else event.ts_recv_ns  # type: ignore


def load_feed(spec: BacktestSpec, catalog: Catalog) -> Feed:
    """Read every instrument's data; a range without data is `Invalid` naming both."""
    instruments: dict[InstrumentId, Instrument] = {}
    bar_lists: list[list[Bar]] = []
    event_lists: list[list[RecordedEvent]] = []
    for iid in spec.instruments:
        dataset = catalog.find(iid, spec.mode, spec.interval)
        instruments[iid] = instrument_for(dataset, iid)
        if spec.mode == "bar":
            bars = read_bars(dataset, iid, spec.start_ns, spec.end_ns)
            if not bars:
                raise no_data(iid, spec.start_ns, spec.end_ns, dataset)
            bar_lists.append(bars)
        else:
            events: list[RecordedEvent] = (
                list(read_trades(dataset, iid, spec.start_ns, spec.end_ns))
                if spec.mode == "trade" else read_events(dataset, iid, spec.start_ns,
                                                         spec.end_ns))
            if not any((type(e) is TradeTick or type(e) is BookDelta)
                       and (spec.start_ns is None or _ts(e) >= spec.start_ns) for e in events):
                raise no_data(iid, spec.start_ns, spec.end_ns, dataset)
            event_lists.append(events)
    if len(bar_lists) == 1:
        return Feed(instruments, bar_lists[0], [])
    if bar_lists:
        merged = heapq.merge(*[[(b.ts_open_ns, n, k, b) for k, b in enumerate(lst)]
                               for n, lst in enumerate(bar_lists)])
        return Feed(instruments, [item[3] for item in merged], [])
    warm_up = spec.start_ns if spec.mode == "book" else None
    if len(event_lists) == 1:
        return Feed(instruments, [], event_lists[0], warm_up)
    merged_events = heapq.merge(*[[(_ts(e), n, k, e) for k, e in enumerate(lst)]
                                  for n, lst in enumerate(event_lists)])
    return Feed(instruments, [], [item[3] for item in merged_events], warm_up)


class _Run:
    """State of one run; `step_*` are the per-event bodies of the loops below."""

    def __init__(self, spec: BacktestSpec, feed: Feed, strategy: Strategy, start_ns: int
                 ) -> None:
        self.spec, self.feed, self.strategy = spec, feed, strategy
        self.clock = SimClock(start_ns)
        fees = FeeSchedule(spec.maker_bps, spec.taker_bps)
        self.venue = PaperVenue("backtest", feed.instruments, self.clock, PaperSettings(
            latency_ns=spec.latency_ns, slippage_bps=spec.slippage_bps, default_fees=fees,
            starting_balances={spec.quote: spec.cash}, shrink_market_buys=True))
        self.port = BacktestPort(self.venue, self.clock)
        self.ctx = StrategyContext(feed.instruments, self.port, self.clock, id_prefix="bt")
        strategy.bind(self.ctx)
        self.cash = float(spec.cash)
        self.held: dict[InstrumentId, float] = {}
        self.mark: dict[InstrumentId, float] = {}
        self.last: dict[InstrumentId, Decimal] = {}
        self.curve_ts: list[int] = []
        self.curve: list[float] = []
        self.exposed: list[bool] = []

    def dispatch(self) -> None:
        """Hand queued reports to the strategy, oldest first (new ones join the queue)."""
        port, ctx, strategy = self.port, self.ctx, self.strategy
        while port.reports:
            batch = port.reports[:]
            port.reports.clear()
            for report in batch:
                ctx.on_report(report)
                for fill in report.fills:
                    self._booked(fill)
                    strategy.on_fill(fill)
                strategy.on_order(report)

    def _booked(self, fill: VenueFill) -> None:
        portfolio = self.ctx.portfolio
        flow = portfolio.cash_flow.get(self.spec.quote, Decimal(0))
        self.cash = float(self.spec.cash + flow)
        self.held[fill.instrument_id] = float(portfolio.quantity(str(fill.instrument_id)))

    def record(self, ts: int) -> None:
        value, exposed = self.cash, False
        for iid, qty in self.held.items():
            if qty:
                value += qty * self.mark.get(iid, 0.0)
                exposed = True
        self.curve_ts.append(ts)
        self.curve.append(value)
        self.exposed.append(exposed)

    def final_equity(self) -> Decimal:
        portfolio = self.ctx.portfolio
        value = self.spec.cash + portfolio.cash_flow.get(self.spec.quote, Decimal(0))
        for key, holding in sorted(portfolio.holdings.items()):
            if holding.quantity:
                price = self.last.get(InstrumentId.parse(key))
                value += holding.quantity * (price if price is not None else holding.entry)
        return value


def _single_bar_loop(run: _Run, bars: Sequence[Bar], progress: Progress | None) -> None:
    """`_bar_loop` for one instrument: no grouping, the mark kept in locals."""
    clock, venue, strategy, port = run.clock, run.venue, run.strategy, run.port
    on_bar, on_strategy_bar, advance = venue.on_bar, strategy.on_bar, clock.advance_to
    iid = bars[0].instrument_id
    held, curve_ts, curve, exposed = run.held, run.curve_ts, run.curve, run.exposed
    every = max(1, len(bars) // 100)
    close = bars[0].close.value
    for n, bar in enumerate(bars):
        if bar.ts_open_ns > clock._now_ns:
            advance(bar.ts_open_ns)
        on_bar(bar)
        if port.reports:
            run.dispatch()
        advance(bar.ts_close_ns)
        close = bar.close.value
        on_strategy_bar(bar)
        if port.reports:
            run.dispatch()
        qty = held.get(iid, 0.0)
        curve_ts.append(bar.ts_close_ns)
        curve.append(run.cash + qty * float(close) if qty else run.cash)
        exposed.append(bool(qty))
        if progress is not None and n % every == 0:
            progress(n + 1, len(bars))
    run.last[iid] = close
    run.mark[iid] = float(close)


def _bar_loop(run: _Run, bars: Sequence[Bar], progress: Progress | None) -> None:
    if len(run.feed.instruments) == 1:
        _single_bar_loop(run, bars, progress)
        return
    clock, venue, strategy, port = run.clock, run.venue, run.strategy, run.port
    on_bar, mark, last = venue.on_bar, run.mark, run.last
    every = max(1, len(bars) // 100)
    n, total = 0, len(bars)
    while n < total:
        bar = bars[n]
        ts_open = bar.ts_open_ns
        end = n + 1
        while end < total and bars[end].ts_open_ns == ts_open:
            end += 1
        if ts_open > clock._now_ns:
            clock.advance_to(ts_open)
        group = bars[n:end]
        for b in group:
            on_bar(b)
        if port.reports:
            run.dispatch()
        close_ns = max(b.ts_close_ns for b in group) if end - n > 1 else bar.ts_close_ns
        clock.advance_to(close_ns)
        for b in group:
            close = b.close.value
            last[b.instrument_id] = close
            mark[b.instrument_id] = float(close)
            strategy.on_bar(b)
            if port.reports:
                run.dispatch()
        run.record(close_ns)
        if progress is not None and n // every != end // every:
            progress(end, total)
        n = end


def _event_loop(run: _Run, events: Sequence[RecordedEvent], progress: Progress | None) -> None:
    clock, venue, strategy, port = run.clock, run.venue, run.strategy, run.port
    builders = {i: BarBuilder(i, run.spec.interval) for i in run.feed.instruments}
    every = max(1, len(events) // 100)
    total = len(events)
    warm_up = run.feed.warm_up_until
    first = 0
    while warm_up is not None and first < total and _ts(events[first]) < warm_up:
        event = events[first]  # the book before the run's start: venue only
        if type(event) is BookDelta:
            venue.on_book_delta(event)
        elif type(event) is TradeTick:
            venue.on_trade(event)
        else:
            assert isinstance(event, BookSnapshot)
            venue.on_book_snapshot(event.instrument_id, event.bids, event.asks, event.ts_ns)
        first += 1

    def bar_done(bar: Bar | None) -> None:
        if bar is not None:
            strategy.on_bar(bar)
            if port.reports:
                run.dispatch()
            run.record(bar.ts_close_ns)

    for n in range(first, total):
        event = events[n]
        kind = type(event)
        ts = _ts(event)
        if ts > clock.now_ns():
            clock.advance_to(ts)
        if kind is BookDelta:
            venue.on_book_delta(event)  # type: ignore[arg-type]
            if port.reports:
                run.dispatch()
            following = events[n + 1] if n + 1 < total else None
            if type(following) is not BookDelta or _ts(following) != ts:
                strategy.on_book(event)  # type: ignore[arg-type]
        elif kind is TradeTick:
            assert isinstance(event, TradeTick)
            iid = event.instrument_id
            bar_done(builders[iid].update(event))
            run.last[iid] = event.price.value
            run.mark[iid] = float(event.price.value)
            venue.on_trade(event)
            if port.reports:
                run.dispatch()
            strategy.on_trade(event)
        else:
            assert isinstance(event, BookSnapshot)
            venue.on_book_snapshot(event.instrument_id, event.bids, event.asks, event.ts_ns)
            if event.bids and event.asks:
                run.last.setdefault(event.instrument_id, event.bids[0][0].value)
        if port.reports:
            run.dispatch()
        if progress is not None and n % every == 0:
            progress(n + 1, total)
    for builder in builders.values():
        bar_done(builder.flush())


def run_backtest(spec: BacktestSpec, feed: Feed, *, strategy: Strategy | None = None,
                 progress: Progress | None = None) -> BacktestResult:
    """Run to the end of the feed; a strategy that raises ends the run `failed` with the
    traceback in the result (fills and equity up to that point are kept)."""
    strategy = strategy or spec.build()
    start = feed.bars[0].ts_open_ns if feed.bars else _ts(feed.events[0])
    run = _Run(spec, feed, strategy, start)
    error: str | None = None
    began = time.perf_counter()
    try:
        strategy.on_start()
        run.dispatch()
        if feed.bars:
            _bar_loop(run, feed.bars, progress)
        else:
            _event_loop(run, feed.events, progress)
        strategy.on_stop()
        run.dispatch()
    except Exception as exc:  # the strategy's code: report it, never propagate it
        error = f"{type(exc).__name__}: {exc}\n" + "".join(
            traceback.format_exception(exc, limit=-8))
    elapsed = time.perf_counter() - began
    if progress is not None:
        progress(len(feed), len(feed))
    return build_result(
        spec, fills=run.venue.all_fills(), curve_ts=np.array(run.curve_ts, dtype=np.int64),
        curve=np.array(run.curve, dtype=np.float64),
        exposed=np.array(run.exposed, dtype=np.bool_), final_equity=run.final_equity(),
        events=len(feed), elapsed_s=elapsed, error=error, signals=run.port.signals,
        rejections=run.port.rejections)

