"""Binance stream names: build them, parse them, refuse the ones Binance would refuse.

A stream name is `<lowercase symbol>@<kind>`: `btcusdt@trade`, `btcusdt@aggTrade`,
`btcusdt@kline_1m`, `btcusdt@bookTicker`, `btcusdt@depth@100ms`. Names are checked before
they reach a socket because an invalid one in a SUBSCRIBE costs a rate-limited control
message and an error frame, and in a combined-stream URL it costs the whole connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from argosy.kernel.errors import Invalid

__all__ = [
    "DEPTH_SPEEDS",
    "KLINE_INTERVALS",
    "StreamKind",
    "StreamName",
    "agg_trade_stream",
    "book_ticker_stream",
    "depth_stream",
    "kline_stream",
    "parse_stream",
    "trade_stream",
]

KLINE_INTERVALS: Final = (
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d",
    "1w", "1M",
)
# 1000 ms is the bare "@depth"; 0ms is what hftbacktest records on futures (unthrottled).
DEPTH_SPEEDS: Final = ("1000ms", "500ms", "250ms", "100ms", "0ms")
_SYMBOL = re.compile(r"[a-z0-9_]{2,40}")


class StreamKind(StrEnum):
    TRADE = "trade"
    AGG_TRADE = "aggTrade"
    KLINE = "kline"
    BOOK_TICKER = "bookTicker"
    DEPTH = "depth"


@dataclass(frozen=True, slots=True)
class StreamName:
    """A parsed stream name; `param` is the kline interval or the depth speed."""

    symbol: str  # upper case, as in payloads ("BTCUSDT")
    kind: StreamKind
    param: str = ""

    def __str__(self) -> str:
        base = f"{self.symbol.lower()}@"
        if self.kind is StreamKind.KLINE:
            return f"{base}kline_{self.param}"
        if self.kind is StreamKind.DEPTH:
            return f"{base}depth" if self.param == "1000ms" else f"{base}depth@{self.param}"
        return base + self.kind.value


def _symbol(symbol: str) -> str:
    lowered = symbol.lower() if isinstance(symbol, str) else ""
    if _SYMBOL.fullmatch(lowered) is None:
        raise Invalid(f"not a Binance symbol: {symbol!r}", field="symbol")
    return lowered.upper()


def trade_stream(symbol: str) -> str:
    return str(StreamName(_symbol(symbol), StreamKind.TRADE))


def agg_trade_stream(symbol: str) -> str:
    return str(StreamName(_symbol(symbol), StreamKind.AGG_TRADE))


def book_ticker_stream(symbol: str) -> str:
    return str(StreamName(_symbol(symbol), StreamKind.BOOK_TICKER))


def kline_stream(symbol: str, interval: str) -> str:
    if interval not in KLINE_INTERVALS:
        raise Invalid(
            f"kline interval must be one of {', '.join(KLINE_INTERVALS)}, got {interval!r}",
            field="interval",
        )
    return str(StreamName(_symbol(symbol), StreamKind.KLINE, interval))


def depth_stream(symbol: str, speed: str = "100ms") -> str:
    if speed not in DEPTH_SPEEDS:
        raise Invalid(
            f"depth speed must be one of {', '.join(DEPTH_SPEEDS)}, got {speed!r}",
            field="speed",
        )
    return str(StreamName(_symbol(symbol), StreamKind.DEPTH, speed))


def parse_stream(name: str) -> StreamName:
    """Inverse of the builders; raises `Invalid` for anything Binance would not serve."""
    if not isinstance(name, str) or "@" not in name:
        raise Invalid(f"not a stream name: {name!r}", field="stream")
    symbol_part, _, rest = name.partition("@")
    symbol = _symbol(symbol_part)
    if symbol_part != symbol_part.lower():
        raise Invalid(f"stream symbols are lower case: {name!r}", field="stream")
    if rest == "trade":
        return StreamName(symbol, StreamKind.TRADE)
    if rest == "aggTrade":
        return StreamName(symbol, StreamKind.AGG_TRADE)
    if rest == "bookTicker":
        return StreamName(symbol, StreamKind.BOOK_TICKER)
    if rest.startswith("kline_") and rest[6:] in KLINE_INTERVALS:
        return StreamName(symbol, StreamKind.KLINE, rest[6:])
    if rest == "depth":
        return StreamName(symbol, StreamKind.DEPTH, "1000ms")
    if rest.startswith("depth@") and rest[6:] in DEPTH_SPEEDS:
        return StreamName(symbol, StreamKind.DEPTH, rest[6:])
    raise Invalid(f"unknown stream kind in {name!r}", field="stream")
