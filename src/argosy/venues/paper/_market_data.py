"""Market data into the paper venue: book snapshots, deltas, quotes, trades and bars.

The half of `PaperVenue` that live paper trading calls from the market-data bus and the
backtester calls from recorded data. Each entry point first delivers the orders whose
latency has passed and expires GTD orders due at or before the event's time, then updates
the mirrored book and lets resting orders, stops and parked orders meet the new prices.
`on_book_delta` is the hot path of book-mode backtests and is written for speed.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Sequence
from decimal import Decimal

from argosy.kernel.clock import Clock
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar, BookDelta, QuoteTick, Side, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.venues.paper._bars import fill_parked, run_bar
from argosy.venues.paper._book import Market
from argosy.venues.paper._engine import Engine
from argosy.venues.paper._order import LiveOrder
from argosy.venues.paper._triggers import check_triggers

__all__ = ["MarketDataIn"]

_ZERO = Decimal(0)
_BUY, _SELL = Side.BUY, Side.SELL


class MarketDataIn:
    """Mixin of `PaperVenue`; the attributes below are set by its constructor."""

    _clock: Clock
    _markets: dict[InstrumentId, Market]
    _by_key: dict[str, Market]
    _engine: Engine
    _inflight: deque[tuple[int, LiveOrder]]
    _expiries: list[tuple[int, int, LiveOrder]]
    _last_id: InstrumentId | None
    _last_market: Market | None

    def _data_market(self, instrument_id: InstrumentId) -> Market | None:
        """Market data for instruments this account does not trade is ignored: one bus
        subscription can feed every paper account."""
        market = self._markets.get(instrument_id)
        if market is not None:
            self._last_id, self._last_market = instrument_id, market
        return market

    def advance(self, ts_ns: int | None = None) -> None:
        """Deliver orders whose latency has passed and expire GTD orders, up to `ts_ns`."""
        ts = self._clock.now_ns() if ts_ns is None else ts_ns
        inflight = self._inflight
        while inflight and inflight[0][0] <= ts:
            at, o = inflight.popleft()
            if o.is_open:
                self._engine.arrive(self._by_key[o.key], o, at)
        if self._engine.expiries and self._engine.expiries[0][0] <= ts:
            self._engine.expire_due(self._by_key, ts)

    def on_book_snapshot(self, instrument_id: InstrumentId,
                         bids: Sequence[tuple[Price, Quantity]],
                         asks: Sequence[tuple[Price, Quantity]], ts_ns: int) -> None:
        self.advance(ts_ns)
        m = self._data_market(instrument_id)
        if m is None:
            return
        m.bids.replace((p.value, q.value) for p, q in bids)
        m.asks.replace((p.value, q.value) for p, q in asks)
        m.has_book = m.l2 = True
        for own, levels in ((m.own_bids, m.bids), (m.own_asks, m.asks)):
            for price in own.prices:
                size = levels.sizes.get(price, _ZERO)
                for o in own.by_price[price]:
                    o.ahead = min(o.ahead, size)
        self._check_cross(m, ts_ns)

    def _check_cross(self, m: Market, ts: int) -> None:
        ask, bid = m.best_ask(), m.best_bid()
        if ask is not None and m.own_bids and ask <= m.own_bids.prices[-1]:
            self._engine.sweep(m, m.own_bids, True, ask, True, ts)
        if bid is not None and m.own_asks and bid >= m.own_asks.prices[0]:
            self._engine.sweep(m, m.own_asks, False, bid, True, ts)

    def on_book_delta(self, delta: BookDelta) -> None:
        """The hot path of book-mode backtests: `Levels.set` is inlined on purpose."""
        if self._inflight or self._expiries:
            self.advance(delta.ts_recv_ns)
        instrument_id = delta.instrument_id
        m = self._last_market if instrument_id is self._last_id else None
        if m is None:
            m = self._data_market(instrument_id)
            if m is None:
                return
        m.has_book = m.l2 = True
        price = delta.price.value
        size = delta.quantity.value
        is_bid = delta.side is _BUY
        if is_bid:
            levels, own, other = m.bids, m.own_bids, m.own_asks
        else:
            levels, own, other = m.asks, m.own_asks, m.own_bids
        sizes = levels.sizes
        if own.prices and price in own.by_price:
            self._engine.queue_delta(own, price, sizes.get(price, _ZERO), size)
        if size:
            if price not in sizes:
                insort(levels.prices, price)
            sizes[price] = size
            if other.prices and (price >= other.prices[0] if is_bid
                                 else price <= other.prices[-1]):
                self._engine.sweep(m, other, not is_bid, price, True, delta.ts_recv_ns)
        elif sizes.pop(price, None) is not None:
            del levels.prices[bisect_left(levels.prices, price)]

    def on_quote(self, quote: QuoteTick) -> None:
        """Top of book. Without depth data the book is just these two levels; with depth,
        levels better than the quote are gone and the quoted sizes replace the best ones."""
        ts = quote.ts_recv_ns
        if self._inflight or self._expiries:
            self.advance(ts)
        m = self._data_market(quote.instrument_id)
        if m is None:
            return
        sides = ((m.bids, m.own_bids, True, quote.bid_price.value, quote.bid_qty.value),
                 (m.asks, m.own_asks, False, quote.ask_price.value, quote.ask_qty.value))
        for levels, own, is_bid, price, size in sides:
            if not m.l2:
                levels.replace(())
            prices = levels.prices
            while prices and (prices[-1] > price if is_bid else prices[0] < price):
                stale = prices.pop() if is_bid else prices.pop(0)
                old = levels.sizes.pop(stale)
                if stale in own.by_price:
                    self._engine.queue_delta(own, stale, old, _ZERO)
            if price in own.by_price:
                self._engine.queue_delta(own, price, levels.sizes.get(price, _ZERO), size)
            levels.set(price, size)
        m.has_book = True
        self._check_cross(m, ts)

    def on_trade(self, trade: TradeTick) -> None:
        ts = trade.ts_recv_ns
        if self._inflight or self._expiries:
            self.advance(ts)
        instrument_id = trade.instrument_id
        m = self._last_market if instrument_id is self._last_id else None
        if m is None:
            m = self._data_market(instrument_id)
            if m is None:
                return
        price = trade.price.value
        m.last_price = price
        if m.parked and not m.has_book:  # trade mode: orders placed before this trade
            fill_parked(self._engine, m, price, ts)
        if m.triggers:
            check_triggers(self._engine, m, price, ts)
        if trade.aggressor_side is _SELL:  # sellers hit the bids: ours among them
            own = m.own_bids
            if own.prices and price <= own.prices[-1]:
                self._engine.sweep(m, own, True, price, False, ts)
                self._engine.queue_trade(m, own, price, trade.quantity.value, ts)
        else:
            own = m.own_asks
            if own.prices and price >= own.prices[0]:
                self._engine.sweep(m, own, False, price, False, ts)
                self._engine.queue_trade(m, own, price, trade.quantity.value, ts)

    def on_bar(self, bar: Bar) -> None:
        """Bar mode (see `_bars`): parked orders fill at this bar's open, then the path."""
        self.advance(bar.ts_open_ns)
        m = self._data_market(bar.instrument_id)
        if m is None:
            return
        run_bar(self._engine, m, bar.open.value, bar.high.value, bar.low.value,
                bar.close.value, bar.ts_open_ns, bar.ts_close_ns)
        if self._engine.expiries:
            self.advance(bar.ts_close_ns)
