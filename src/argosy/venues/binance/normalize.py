"""Binance payloads -> kernel messages, with canonical instrument ids.

Functions here are pure: a payload dict and the instrument id in, a frozen kernel message
out, or `MalformedMessage` naming the payload kind. Which instrument a venue symbol is
depends on the market (BTCUSDT is BTC-USDT.binance on spot, BTC-USDT-PERP.binance on
USD-M), so the caller resolves it with a `SymbolMap` built from exchangeInfo.

Timestamps: `ts_event_ns` is the venue's trade/transaction time (T) where the payload has
one, else its event time (E); spot bookTicker carries neither, so its event time is the
receive time. `ts_recv_ns` is the caller's clock at receipt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from argosy.kernel.clock import NS_PER_MS
from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Bar, BookDelta, Interval, QuoteTick, Side, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.venues.binance.payloads import DepthDiff, MalformedMessage, int_field, str_field

__all__ = [
    "SymbolMap",
    "agg_trade_tick",
    "book_deltas",
    "kline_bar",
    "kline_row_bar",
    "quote_tick",
    "rest_trade_tick",
    "trade_tick",
]

_INTERVALS = {i.value: i for i in Interval}


class SymbolMap:
    """Venue symbol (upper case) -> canonical id, for one market."""

    __slots__ = ("_ids",)

    def __init__(self, ids: Mapping[str, InstrumentId] | None = None) -> None:
        self._ids: dict[str, InstrumentId] = dict(ids or {})

    def add(self, symbol: str, instrument_id: InstrumentId) -> None:
        self._ids[symbol.upper()] = instrument_id

    def get(self, symbol: str) -> InstrumentId | None:
        return self._ids.get(symbol)

    def symbols(self) -> list[str]:
        return sorted(self._ids)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._ids

    def __len__(self) -> int:
        return len(self._ids)


def _price(value: object, key: str, kind: str) -> Price:
    try:
        return Price(value)  # type: ignore[arg-type]  # validated by the kernel
    except Invalid as error:
        raise MalformedMessage(kind, f"{key}: {error.message}") from None


def _qty(value: object, key: str, kind: str) -> Quantity:
    try:
        return Quantity(value)  # type: ignore[arg-type]
    except Invalid as error:
        raise MalformedMessage(kind, f"{key}: {error.message}") from None


def _side_of(data: Mapping[str, Any], kind: str) -> Side:
    maker = data.get("m")
    if not isinstance(maker, bool):
        raise MalformedMessage(kind, f"m must be a bool, got {maker!r:.20}")
    # m: the buyer was the maker, so the seller crossed the spread.
    return Side.SELL if maker else Side.BUY


def trade_tick(data: Mapping[str, Any], instrument_id: InstrumentId, recv_ns: int) -> TradeTick:
    """`<symbol>@trade` event."""
    kind = "trade"
    return TradeTick(
        instrument_id=instrument_id,
        price=_price(data.get("p"), "p", kind),
        quantity=_qty(data.get("q"), "q", kind),
        aggressor_side=_side_of(data, kind),
        trade_id=str(int_field(data, "t", kind)),
        ts_event_ns=int_field(data, "T", kind) * NS_PER_MS,
        ts_recv_ns=recv_ns,
    )


def agg_trade_tick(
    data: Mapping[str, Any], instrument_id: InstrumentId, recv_ns: int
) -> TradeTick:
    """`<symbol>@aggTrade` event, or one row of REST /aggTrades (same keys)."""
    kind = "aggTrade"
    return TradeTick(
        instrument_id=instrument_id,
        price=_price(data.get("p"), "p", kind),
        quantity=_qty(data.get("q"), "q", kind),
        aggressor_side=_side_of(data, kind),
        trade_id=str(int_field(data, "a", kind)),
        ts_event_ns=int_field(data, "T", kind) * NS_PER_MS,
        ts_recv_ns=recv_ns,
    )


def quote_tick(data: Mapping[str, Any], instrument_id: InstrumentId, recv_ns: int) -> QuoteTick:
    """`<symbol>@bookTicker` event."""
    kind = "bookTicker"
    event_ms = data.get("T", data.get("E"))
    if event_ms is not None and (isinstance(event_ms, bool) or not isinstance(event_ms, int)):
        raise MalformedMessage(kind, f"T must be an int, got {event_ms!r:.20}")
    return QuoteTick(
        instrument_id=instrument_id,
        bid_price=_price(data.get("b"), "b", kind),
        bid_qty=_qty(data.get("B"), "B", kind),
        ask_price=_price(data.get("a"), "a", kind),
        ask_qty=_qty(data.get("A"), "A", kind),
        ts_event_ns=recv_ns if event_ms is None else event_ms * NS_PER_MS,
        ts_recv_ns=recv_ns,
    )


def _bar(
    instrument_id: InstrumentId,
    interval: Interval,
    ohlcv: Sequence[object],
    open_ms: int,
    kind: str,
) -> Bar:
    try:
        return Bar(
            instrument_id=instrument_id,
            interval=interval,
            open=_price(ohlcv[0], "open", kind),
            high=_price(ohlcv[1], "high", kind),
            low=_price(ohlcv[2], "low", kind),
            close=_price(ohlcv[3], "close", kind),
            volume=_qty(ohlcv[4], "volume", kind),
            ts_open_ns=open_ms * NS_PER_MS,
            ts_close_ns=open_ms * NS_PER_MS + interval.ns,
        )
    except Invalid as error:
        raise MalformedMessage(kind, error.message) from None


def kline_bar(data: Mapping[str, Any], instrument_id: InstrumentId) -> Bar | None:
    """`<symbol>@kline_<i>` event: a Bar once the kline is closed (`x`), else None.

    Intervals the kernel does not aggregate (3m, 2h...) raise MalformedMessage("kline").
    """
    kind = "kline"
    k = data.get("k")
    if not isinstance(k, dict):
        raise MalformedMessage(kind, "k must be an object")
    closed = k.get("x")
    if not isinstance(closed, bool):
        raise MalformedMessage(kind, f"x must be a bool, got {closed!r:.20}")
    interval = _INTERVALS.get(str_field(k, "i", kind))
    if interval is None:
        raise MalformedMessage(kind, f"interval {k.get('i')!r} is not a kernel Interval")
    if not closed:
        return None
    ohlcv = [k.get("o"), k.get("h"), k.get("l"), k.get("c"), k.get("v")]
    return _bar(instrument_id, interval, ohlcv, int_field(k, "t", kind), kind)


def kline_row_bar(row: Sequence[Any], instrument_id: InstrumentId, interval: Interval) -> Bar:
    """One row of REST /klines: [open time, o, h, l, c, v, close time, ...]."""
    kind = "klineRow"
    if not isinstance(row, list | tuple) or len(row) < 6:
        raise MalformedMessage(kind, "a kline row is a list of at least 6 fields")
    open_ms = row[0]
    if isinstance(open_ms, bool) or not isinstance(open_ms, int):
        raise MalformedMessage(kind, f"open time must be an int, got {open_ms!r:.20}")
    return _bar(instrument_id, interval, row[1:6], open_ms, kind)


def book_deltas(diff: DepthDiff, instrument_id: InstrumentId, recv_ns: int) -> list[BookDelta]:
    """One BookDelta per changed level; `sequence` is the event's final update id (u)."""
    ts_event = diff.event_time_ms * NS_PER_MS
    seq = diff.final_id
    out = [
        BookDelta(instrument_id, Side.BUY, Price(p), Quantity(q), seq, ts_event, recv_ns)
        for p, q in diff.bids
    ]
    out.extend(
        BookDelta(instrument_id, Side.SELL, Price(p), Quantity(q), seq, ts_event, recv_ns)
        for p, q in diff.asks
    )
    return out


def rest_trade_tick(
    row: Mapping[str, Any], instrument_id: InstrumentId, recv_ns: int
) -> TradeTick:
    """One row of REST /historicalTrades or /trades (the same trade as `@trade`)."""
    kind = "restTrade"
    maker = row.get("isBuyerMaker")
    if not isinstance(maker, bool):
        raise MalformedMessage(kind, f"isBuyerMaker must be a bool, got {maker!r:.20}")
    return TradeTick(
        instrument_id=instrument_id,
        price=_price(row.get("price"), "price", kind),
        quantity=_qty(row.get("qty"), "qty", kind),
        aggressor_side=Side.SELL if maker else Side.BUY,
        trade_id=str(int_field(row, "id", kind)),
        ts_event_ns=int_field(row, "time", kind) * NS_PER_MS,
        ts_recv_ns=recv_ns,
    )
