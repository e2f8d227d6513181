"""Every other exchange, through ccxt: streaming where ccxt.pro can, REST polling otherwise.

What an exchange can do is read from ccxt's own `has` dict into a `Capabilities` row, so
the choice between `watch_trades` and polling `fetch_trades` is data, not a branch per
exchange. ccxt is told to keep numbers as strings (`exchange.number = str`): its parse
functions then hand over the venue's digits untouched and they become Decimal here, never
float. Normalization is the same for both paths: ccxt's unified trade / order book / OHLCV
structures in, kernel TradeTick / BookDelta / Bar / QuoteTick out, with canonical ids
(`BTC-USDT.kraken`, `BTC-USDT-PERP.bybit`; dated futures and options are skipped).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ccxt  # type: ignore[import-untyped]  # ships no type information
import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]
import ccxt.pro as ccxt_pro  # type: ignore[import-untyped]
import structlog

from argosy.kernel.clock import NS_PER_MS, Clock, LiveClock
from argosy.kernel.errors import Invalid, VenueReconcile, VenueRejected, VenueRetry
from argosy.kernel.instruments import InstrumentId, InstrumentKind
from argosy.kernel.messages import Bar, BookDelta, Interval, Message, QuoteTick, Side, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.venues.alarms import AlarmHandler, FeedAlarm
from argosy.venues.book import OrderBook

__all__ = [
    "Capabilities",
    "CcxtNormalizer",
    "CcxtVenue",
    "capabilities",
    "capability_table",
    "instrument_id_for",
    "venue_error",
]

log = structlog.get_logger("argosy.venues.ccxt")
_KINDS = ("Trades", "OrderBook", "OHLCV", "Ticker")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """How each kind of market data is obtained from one exchange: "watch", "poll" or None."""

    exchange: str
    trades: str | None
    order_book: str | None
    ohlcv: str | None
    ticker: str | None
    timeframes: tuple[str, ...]

    def as_row(self) -> dict[str, Any]:
        return {"exchange": self.exchange, "trades": self.trades, "order_book": self.order_book,
                "ohlcv": self.ohlcv, "ticker": self.ticker,
                "timeframes": ",".join(self.timeframes)}


def _mode(has: Mapping[str, Any], kind: str, streaming: bool) -> str | None:
    # ccxt marks support True, "emulated" (works, built from another call) or False/None.
    if streaming and has.get(f"watch{kind}") in (True, "emulated"):
        return "watch"
    if has.get(f"fetch{kind}") in (True, "emulated"):
        return "poll"
    return None


def capabilities(exchange_id: str) -> Capabilities:
    """The row for one ccxt exchange id, from the class's `has` (no network)."""
    streaming = exchange_id in ccxt_pro.exchanges
    cls = getattr(ccxt_pro if streaming else ccxt, exchange_id, None)
    if cls is None:
        raise Invalid(f"ccxt has no exchange {exchange_id!r}", field="exchange")
    instance = cls()
    has = instance.has
    trades, book, ohlcv, ticker = (_mode(has, kind, streaming) for kind in _KINDS)
    return Capabilities(exchange_id, trades, book, ohlcv, ticker,
                        tuple(instance.timeframes or {}))


def capability_table(exchange_ids: Iterable[str] | None = None) -> dict[str, Capabilities]:
    return {e: capabilities(e) for e in (exchange_ids or ccxt.exchanges)}


def instrument_id_for(market: Mapping[str, Any], venue: str) -> InstrumentId | None:
    """Spot and linear perpetual markets get canonical ids; everything else None."""
    try:
        if market.get("spot"):
            return InstrumentId(str(market["base"]), str(market["quote"]), InstrumentKind.SPOT,
                                venue)
        if market.get("swap") and market.get("linear"):
            return InstrumentId(str(market["base"]), str(market["quote"]), InstrumentKind.PERP,
                                venue)
    except Invalid:
        return None
    return None


def _exact(value: Any) -> Decimal:
    """A venue number as Decimal. ccxt's order books hold floats whatever `number` says;
    repr() gives back the venue's digits exactly up to 15 significant digits, beyond which a
    float may already have lost some, so those are refused rather than guessed."""
    if isinstance(value, float):
        number = Decimal(repr(value))
        if len(number.as_tuple().digits) > 15:
            raise Invalid(f"{value!r} has more digits than a float keeps", field="amount")
        return number
    if isinstance(value, bool) or value is None:
        raise Invalid(f"not an amount: {value!r}", field="amount")
    return Decimal(value if isinstance(value, Decimal | int) else str(value))


def _amount(value: Any, kind: type[Price] | type[Quantity]) -> Any:
    return kind(_exact(value))


class CcxtNormalizer:
    """ccxt unified structures -> kernel messages, for one exchange."""

    def __init__(self, venue: str, ids: Mapping[str, InstrumentId]) -> None:
        self.venue = venue
        self.ids = dict(ids)  # ccxt unified symbol ("BTC/USDT") -> canonical id

    def _id(self, symbol: str | None) -> InstrumentId:
        iid = self.ids.get(symbol or "")
        if iid is None:
            raise Invalid(f"no canonical id for {symbol!r} on {self.venue}", field="symbol")
        return iid

    def trade(self, trade: Mapping[str, Any], recv_ns: int) -> TradeTick:
        side = trade.get("side")
        if side not in ("buy", "sell"):
            raise Invalid(f"trade side must be buy or sell, got {side!r}", field="side")
        return TradeTick(
            instrument_id=self._id(trade.get("symbol")),
            price=_amount(trade.get("price"), Price),
            quantity=_amount(trade.get("amount"), Quantity),
            aggressor_side=Side(side),
            trade_id=str(trade.get("id") or trade.get("timestamp")),
            ts_event_ns=int(trade["timestamp"]) * NS_PER_MS,
            ts_recv_ns=recv_ns,
        )

    def book(self, order_book: Mapping[str, Any], symbol: str) -> OrderBook:
        book = OrderBook(symbol)
        levels = [[(_exact(p), _exact(q)) for p, q, *_ in order_book.get(side) or []]
                  for side in ("bids", "asks")]
        book.load(levels[0], levels[1], int(order_book.get("nonce") or 0))
        return book

    def book_deltas(self, previous: OrderBook, current: OrderBook, symbol: str,
                    ts_ns: int) -> list[BookDelta]:
        """The level changes from `previous` to `current` (ccxt hands over whole books)."""
        iid = self._id(symbol)
        return [BookDelta(iid, side, Price(p), Quantity(q), current.last_update_id, ts_ns, ts_ns)
                for side, p, q in previous.diff_to(current)]

    def bar(self, row: list[Any], symbol: str, interval: Interval) -> Bar:
        open_ms = int(row[0])
        return Bar(
            instrument_id=self._id(symbol),
            interval=interval,
            open=_amount(row[1], Price),
            high=_amount(row[2], Price),
            low=_amount(row[3], Price),
            close=_amount(row[4], Price),
            volume=_amount(row[5] if row[5] is not None else "0", Quantity),
            ts_open_ns=open_ms * NS_PER_MS,
            ts_close_ns=open_ms * NS_PER_MS + interval.ns,
        )

    def quote(self, ticker: Mapping[str, Any], recv_ns: int) -> QuoteTick:
        stamp = ticker.get("timestamp")
        return QuoteTick(
            instrument_id=self._id(ticker.get("symbol")),
            bid_price=_amount(ticker.get("bid"), Price),
            bid_qty=_amount(ticker.get("bidVolume") or "0", Quantity),
            ask_price=_amount(ticker.get("ask"), Price),
            ask_qty=_amount(ticker.get("askVolume") or "0", Quantity),
            ts_event_ns=int(stamp) * NS_PER_MS if stamp else recv_ns,
            ts_recv_ns=recv_ns,
        )


class _Seen:
    """Recently delivered trade ids (ids are strings on most venues, not counters)."""

    def __init__(self, size: int = 20_000) -> None:
        self._order: deque[str] = deque(maxlen=size)
        self._ids: set[str] = set()
        self.last_ts = 0

    def fresh(self, trade: TradeTick) -> bool:
        if trade.trade_id in self._ids or trade.ts_event_ns < self.last_ts:
            return False
        if len(self._order) == self._order.maxlen:
            self._ids.discard(self._order[0])
        self._order.append(trade.trade_id)
        self._ids.add(trade.trade_id)
        self.last_ts = trade.ts_event_ns
        return True


def venue_error(error: Exception, venue: str) -> Exception:
    """ccxt's exception tree mapped onto the kernel's retry / reconcile / reject split."""
    if isinstance(error, ccxt.RequestTimeout):
        return VenueReconcile(str(error), venue=venue)
    if isinstance(error, ccxt.NetworkError | ccxt.RateLimitExceeded | ccxt.ExchangeNotAvailable):
        return VenueRetry(str(error), venue=venue)
    if isinstance(error, ccxt.BaseError):
        return VenueRejected(str(error), venue=venue)
    return error


class CcxtVenue:
    """Normalized market data from one ccxt exchange, streamed or polled per `Capabilities`."""

    def __init__(
        self,
        exchange_id: str,
        on_message: Callable[[Message], None],
        *,
        on_alarm: AlarmHandler | None = None,
        config: Mapping[str, Any] | None = None,
        poll_interval_s: float = 1.0,
        retry_s: float = 2.0,
        clock: Clock | None = None,
        exchange: Any = None,
        force_poll: bool = False,
    ) -> None:
        caps = capabilities(exchange_id)
        if force_poll:  # e.g. where WebSockets are blocked: REST for everything it offers
            def poll(mode: str | None) -> str | None:
                return None if mode is None else "poll"

            caps = Capabilities(exchange_id, poll(caps.trades), poll(caps.order_book),
                                poll(caps.ohlcv), poll(caps.ticker), caps.timeframes)
        self.caps = caps
        streaming = exchange_id in ccxt_pro.exchanges and not force_poll
        module = ccxt_pro if streaming else ccxt_async
        self.exchange = exchange or getattr(module, exchange_id)(dict(config or {}))
        self.exchange.number = str  # keep the venue's digits; Decimal comes later
        self.venue = exchange_id
        self.normalizer = CcxtNormalizer(exchange_id, {})
        self.on_message = on_message
        self.on_alarm = on_alarm
        self.poll_interval_s = poll_interval_s
        self.retry_s = retry_s
        self.clock: Clock = clock or LiveClock()
        self.errors: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def load_markets(self) -> dict[str, InstrumentId]:
        markets = await self.exchange.load_markets()
        for symbol, market in markets.items():
            iid = instrument_id_for(market, self.venue)
            if iid is not None:
                self.normalizer.ids[symbol] = iid
        return dict(self.normalizer.ids)

    async def subscribe(self, symbol: str, *, trades: bool = True, book: bool = False,
                        ohlcv: Iterable[Interval] = (), quotes: bool = False) -> None:
        if symbol not in self.normalizer.ids:
            raise Invalid(f"{symbol!r} has no canonical id on {self.venue}", field="symbol")
        wanted = [("trades", trades, self._trades(symbol)), ("order_book", book,
                   self._book(symbol)), ("ticker", quotes, self._quotes(symbol))]
        wanted += [("ohlcv", True, self._ohlcv(symbol, Interval(i))) for i in ohlcv]
        for kind, on, coro in wanted:
            if on and getattr(self.caps, kind) is None:
                coro.close()
                raise Invalid(f"{self.venue} offers no {kind} data in ccxt", field=kind)
            if on:
                self._tasks.append(asyncio.create_task(coro, name=f"ccxt-{kind}-{symbol}"))
            else:
                coro.close()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.exchange.close()

    async def _call(self, kind: str, watch: str, fetch: str, *args: Any) -> Any:
        """One `watch_*` (blocks until data) or one paced `fetch_*`; errors raise."""
        if getattr(self.caps, kind) == "watch":
            return await getattr(self.exchange, watch)(*args)
        result = await getattr(self.exchange, fetch)(*args)
        await asyncio.sleep(self.poll_interval_s)
        return result

    async def _loop(self, kind: str, step: Callable[[], Any]) -> None:
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # one bad answer must not end the stream
                self.errors[kind] = self.errors.get(kind, 0) + 1
                mapped = venue_error(error, self.venue)
                if self.errors[kind] == 1:
                    log.warning("ccxt_market_data_error", venue=self.venue, kind=kind,
                                error=repr(mapped))
                if self.on_alarm is not None:
                    self.on_alarm(FeedAlarm(self.venue, "rest_error", f"{kind}: {mapped}",
                                            self.clock.now_ns(), details={"kind": kind}))
                await asyncio.sleep(self.retry_s)

    async def _trades(self, symbol: str) -> None:
        seen = _Seen()

        async def step() -> None:
            for raw in await self._call("trades", "watch_trades", "fetch_trades", symbol):
                tick = self.normalizer.trade(raw, self.clock.now_ns())
                if seen.fresh(tick):
                    self.on_message(tick)

        await self._loop("trades", step)

    async def _book(self, symbol: str) -> None:
        previous = OrderBook(symbol)

        async def step() -> None:
            nonlocal previous
            raw = await self._call("order_book", "watch_order_book", "fetch_order_book", symbol)
            current = self.normalizer.book(raw, symbol)
            for delta in self.normalizer.book_deltas(previous, current, symbol,
                                                     self.clock.now_ns()):
                self.on_message(delta)
            previous = current

        await self._loop("order_book", step)

    async def _ohlcv(self, symbol: str, interval: Interval) -> None:
        last_open = -1

        async def step() -> None:
            nonlocal last_open
            rows = await self._call("ohlcv", "watch_ohlcv", "fetch_ohlcv", symbol,
                                    interval.value)
            # The newest row is the bar still forming: only older rows are final.
            for row in sorted(rows, key=lambda r: r[0])[:-1]:
                if int(row[0]) > last_open:
                    last_open = int(row[0])
                    self.on_message(self.normalizer.bar(row, symbol, interval))

        await self._loop("ohlcv", step)

    async def _quotes(self, symbol: str) -> None:
        async def step() -> None:
            ticker = await self._call("ticker", "watch_ticker", "fetch_ticker", symbol)
            if ticker.get("bid") is not None and ticker.get("ask") is not None:
                self.on_message(self.normalizer.quote(ticker, self.clock.now_ns()))

        await self._loop("ticker", step)
