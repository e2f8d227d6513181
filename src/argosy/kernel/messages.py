"""Market data messages every service shares: trades, quotes, bars and book updates.

They are frozen so one object can be handed to many consumers (strategy, risk, recorder)
without copies or surprises. `to_dict`/`from_dict` give the JSON-able wire form: decimals
as canonical strings (floats would lose digits), enums by value, instrument ids in their
canonical string form, timestamps as int nanoseconds UTC, and a `type` key naming the kind.
`from_dict` validates as it reads and reports the offending key as the error's field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeAlias, TypeVar

from argosy.kernel.clock import NS_PER_SECOND
from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.money import Price, Quantity

__all__ = [
    "Bar",
    "BookDelta",
    "Interval",
    "Message",
    "QuoteTick",
    "Side",
    "TradeTick",
    "WireDict",
    "from_dict",
    "to_dict",
]

WireDict: TypeAlias = dict[str, str | int]


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class Interval(StrEnum):
    """Bar lengths the platform aggregates; values are the venue-style names."""

    S1 = "1s"
    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @classmethod
    def parse(cls, text: str, field: str = "interval") -> Interval:
        try:
            return cls(text)
        except ValueError:
            names = ", ".join(i.value for i in cls)
            raise Invalid(f"{field} must be one of {names}, got {text!r}", field=field) from None

    @property
    def seconds(self) -> int:
        return _SECONDS[self]

    @property
    def ns(self) -> int:
        return _SECONDS[self] * NS_PER_SECOND

    def floor_ns(self, ts_ns: int) -> int:
        """Open time of the bar containing `ts_ns` (bars align to the Unix epoch, UTC)."""
        return ts_ns - ts_ns % self.ns


_SECONDS: Final = {
    Interval.S1: 1,
    Interval.M1: 60,
    Interval.M5: 300,
    Interval.M15: 900,
    Interval.H1: 3600,
    Interval.H4: 14400,
    Interval.D1: 86400,
}


@dataclass(frozen=True, slots=True)
class TradeTick:
    """One public trade; `aggressor_side` is the side of the taker that crossed the spread."""

    instrument_id: InstrumentId
    price: Price
    quantity: Quantity
    aggressor_side: Side
    trade_id: str
    ts_event_ns: int
    ts_recv_ns: int


@dataclass(frozen=True, slots=True)
class QuoteTick:
    """Top of book. A crossed quote (bid above ask) is kept as the venue sent it."""

    instrument_id: InstrumentId
    bid_price: Price
    bid_qty: Quantity
    ask_price: Price
    ask_qty: Quantity
    ts_event_ns: int
    ts_recv_ns: int


@dataclass(frozen=True, slots=True)
class Bar:
    """OHLCV over [ts_open_ns, ts_close_ns): the close time is exclusive (open + interval).

    Binance reports close as open + interval - 1 ms; adapters convert so that bars tile
    time with no gaps and `ts_close_ns` of one bar is `ts_open_ns` of the next.
    """

    instrument_id: InstrumentId
    interval: Interval
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Quantity
    ts_open_ns: int
    ts_close_ns: int

    def __post_init__(self) -> None:
        if not (self.low <= self.open <= self.high and self.low <= self.close <= self.high):
            raise Invalid(
                f"bar prices are inconsistent: o={self.open} h={self.high} "
                f"l={self.low} c={self.close}",
                field="high",
            )
        if self.ts_close_ns <= self.ts_open_ns:
            raise Invalid("bar must close after it opens", field="ts_close_ns")


@dataclass(frozen=True, slots=True)
class BookDelta:
    """One L2 level update: the new total size at `price` on `side` (0 removes the level).

    `side` BUY is the bid side. `sequence` is the venue's update id, so a consumer can
    detect gaps and resynchronise from a snapshot.
    """

    instrument_id: InstrumentId
    side: Side
    price: Price
    quantity: Quantity
    sequence: int
    ts_event_ns: int
    ts_recv_ns: int


Message: TypeAlias = TradeTick | QuoteTick | Bar | BookDelta

_E = TypeVar("_E", bound=StrEnum)
_A = TypeVar("_A", Price, Quantity)


def _get(data: Mapping[str, object], key: str) -> object:
    try:
        return data[key]
    except KeyError:
        raise Invalid(f"missing key {key!r}", field=key) from None


def _int(data: Mapping[str, object], key: str) -> int:
    value = _get(data, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{key} must be an int, got {type(value).__name__}", field=key)
    return value


def _str(data: Mapping[str, object], key: str) -> str:
    value = _get(data, key)
    if not isinstance(value, str) or not value:
        raise Invalid(f"{key} must be a non-empty string", field=key)
    return value


def _amount(data: Mapping[str, object], key: str, kind: type[_A]) -> _A:
    value = _get(data, key)
    if not isinstance(value, str):
        raise Invalid(f"{key} must be a decimal string, got {type(value).__name__}", field=key)
    try:
        return kind(value)
    except Invalid as error:
        raise Invalid(f"{key}: {error.message}", field=key) from None


def _enum(data: Mapping[str, object], key: str, kind: type[_E]) -> _E:
    value = _str(data, key)
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise Invalid(f"{key} must be one of {allowed}, got {value!r}", field=key) from None


def _instrument(data: Mapping[str, object]) -> InstrumentId:
    return InstrumentId.parse(_str(data, "instrument_id"))


def to_dict(message: Message) -> WireDict:
    """The JSON-able form of a message; `from_dict(to_dict(m)) == m`."""
    common: WireDict = {"instrument_id": str(message.instrument_id)}
    if isinstance(message, TradeTick):
        return common | {
            "type": "trade",
            "price": message.price.to_str(),
            "quantity": message.quantity.to_str(),
            "aggressor_side": message.aggressor_side.value,
            "trade_id": message.trade_id,
            "ts_event_ns": message.ts_event_ns,
            "ts_recv_ns": message.ts_recv_ns,
        }
    if isinstance(message, QuoteTick):
        return common | {
            "type": "quote",
            "bid_price": message.bid_price.to_str(),
            "bid_qty": message.bid_qty.to_str(),
            "ask_price": message.ask_price.to_str(),
            "ask_qty": message.ask_qty.to_str(),
            "ts_event_ns": message.ts_event_ns,
            "ts_recv_ns": message.ts_recv_ns,
        }
    if isinstance(message, Bar):
        return common | {
            "type": "bar",
            "interval": message.interval.value,
            "open": message.open.to_str(),
            "high": message.high.to_str(),
            "low": message.low.to_str(),
            "close": message.close.to_str(),
            "volume": message.volume.to_str(),
            "ts_open_ns": message.ts_open_ns,
            "ts_close_ns": message.ts_close_ns,
        }
    if isinstance(message, BookDelta):
        return common | {
            "type": "book_delta",
            "side": message.side.value,
            "price": message.price.to_str(),
            "quantity": message.quantity.to_str(),
            "sequence": message.sequence,
            "ts_event_ns": message.ts_event_ns,
            "ts_recv_ns": message.ts_recv_ns,
        }
    raise Invalid(f"not a message: {type(message).__name__}", field="type")


def _trade(data: Mapping[str, object]) -> TradeTick:
    return TradeTick(
        instrument_id=_instrument(data),
        price=_amount(data, "price", Price),
        quantity=_amount(data, "quantity", Quantity),
        aggressor_side=_enum(data, "aggressor_side", Side),
        trade_id=_str(data, "trade_id"),
        ts_event_ns=_int(data, "ts_event_ns"),
        ts_recv_ns=_int(data, "ts_recv_ns"),
    )


def _quote(data: Mapping[str, object]) -> QuoteTick:
    return QuoteTick(
        instrument_id=_instrument(data),
        bid_price=_amount(data, "bid_price", Price),
        bid_qty=_amount(data, "bid_qty", Quantity),
        ask_price=_amount(data, "ask_price", Price),
        ask_qty=_amount(data, "ask_qty", Quantity),
        ts_event_ns=_int(data, "ts_event_ns"),
        ts_recv_ns=_int(data, "ts_recv_ns"),
    )


def _bar(data: Mapping[str, object]) -> Bar:
    return Bar(
        instrument_id=_instrument(data),
        interval=_enum(data, "interval", Interval),
        open=_amount(data, "open", Price),
        high=_amount(data, "high", Price),
        low=_amount(data, "low", Price),
        close=_amount(data, "close", Price),
        volume=_amount(data, "volume", Quantity),
        ts_open_ns=_int(data, "ts_open_ns"),
        ts_close_ns=_int(data, "ts_close_ns"),
    )


def _book_delta(data: Mapping[str, object]) -> BookDelta:
    return BookDelta(
        instrument_id=_instrument(data),
        side=_enum(data, "side", Side),
        price=_amount(data, "price", Price),
        quantity=_amount(data, "quantity", Quantity),
        sequence=_int(data, "sequence"),
        ts_event_ns=_int(data, "ts_event_ns"),
        ts_recv_ns=_int(data, "ts_recv_ns"),
    )


_READERS: Final[dict[str, Callable[[Mapping[str, object]], Message]]] = {
    "trade": _trade,
    "quote": _quote,
    "bar": _bar,
    "book_delta": _book_delta,
}


def from_dict(data: Mapping[str, object]) -> Message:
    """Rebuild a message from its wire form, dispatching on `type`."""
    kind = _str(data, "type")
    reader = _READERS.get(kind)
    if reader is None:
        raise Invalid(f"unknown message type {kind!r}; known: {sorted(_READERS)}", field="type")
    return reader(data)
