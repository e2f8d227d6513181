"""What a history query may ask for, checked before any storage is touched.

Times are int nanoseconds UTC (the platform's edge format), ISO 8601 with a zone, or a
date (`2024-08-08` = its UTC midnight). An integer that is not plausibly nanoseconds is
refused with a hint, since milliseconds are the usual mistake. Ranges must go forward and
stay under a span per kind (a candle query may cover `max_bars` bars of its interval, a
trade query `max_trade_span_ns`), so one request cannot ask the store to scan years.
Pages continue with an opaque cursor bound to the query it came from.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from argosy.kernel.clock import NS_PER_SECOND, iso_to_ns
from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval

__all__ = [
    "CandleQuery",
    "Limits",
    "TradeQuery",
    "decode_cursor",
    "encode_cursor",
    "parse_day",
    "parse_time",
]

_MIN_NS = 1_230_768_000 * NS_PER_SECOND  # 2009-01-01: no crypto trade is older
_MAX_NS = 4_102_444_800 * NS_PER_SECOND  # 2100-01-01
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DAY_NS = 86_400 * NS_PER_SECOND


@dataclass(frozen=True, slots=True)
class Limits:
    max_candles: int = 5000
    default_candles: int = 500
    max_trades: int = 10_000
    default_trades: int = 1000
    max_bars: int = 100_000  # bars of the interval one candle query may span
    max_trade_span_ns: int = 7 * DAY_NS
    max_days: int = 31  # days of one continuity report


def parse_time(value: str | None, field: str) -> int | None:
    if value is None or value == "":
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        ns = int(text)
        if not _MIN_NS <= ns <= _MAX_NS:
            raise Invalid(
                f"{field}={text} is not a time in nanoseconds since the epoch (2009..2100); "
                "milliseconds? multiply by 1e6, or send ISO 8601 such as 2024-08-08T00:00:00Z",
                field=field)
        return ns
    if _DATE.fullmatch(text):
        return parse_day(text, field)
    try:
        return iso_to_ns(text)
    except Invalid as error:
        raise Invalid(f"{field}: {error.message}", field=field) from None


def parse_day(text: str, field: str = "day") -> int:
    """`2024-08-08` -> the ns of its UTC midnight."""
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid(f"{field} must be a date YYYY-MM-DD, got {text[:40]!r}",
                      field=field) from None
    return int(day.timestamp()) * NS_PER_SECOND


def _limit(value: int | None, default: int, maximum: int) -> int:
    limit = default if value is None else value
    if not 1 <= limit <= maximum:
        raise Invalid(f"limit must be between 1 and {maximum}, got {limit}", field="limit")
    return limit


def _range(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and start >= end:
        raise Invalid("start must be before end", field="start")


def encode_cursor(payload: dict[str, object]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expect: dict[str, object]) -> dict[str, object]:
    """The cursor's payload; refused if it is not ours or belongs to another query."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict) or any(payload.get(k) != v for k, v in expect.items()):
        raise Invalid("cursor is not valid for this query; start again without it",
                      field="cursor")
    return payload


def _cursor_int(payload: dict[str, object], key: str) -> int:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("cursor is not valid for this query; start again without it",
                      field="cursor")
    return value


@dataclass(frozen=True, slots=True)
class CandleQuery:
    instrument: InstrumentId
    interval: Interval
    start: int | None  # inclusive open time; None: the latest `limit` bars before `end`
    end: int | None  # exclusive
    limit: int

    @classmethod
    def parse(cls, instrument: str, interval: str, start: str | None, end: str | None,
              limit: int | None, cursor: str | None, limits: Limits) -> CandleQuery:
        iid = InstrumentId.parse(instrument, field="instrument")
        iv = Interval.parse(interval)
        lo, hi = parse_time(start, "start"), parse_time(end, "end")
        count = _limit(limit, limits.default_candles, limits.max_candles)
        if cursor:
            payload = decode_cursor(cursor, {"k": "candles", "i": str(iid), "iv": iv.value,
                                             "e": hi})
            lo = _cursor_int(payload, "t")
        _range(lo, hi)
        if lo is not None and hi is not None and (hi - lo) // iv.ns > limits.max_bars:
            raise Invalid(
                f"the range spans {(hi - lo) // iv.ns} {iv.value} bars; at most "
                f"{limits.max_bars} per query (narrow it or use a longer interval)",
                field="end")
        return cls(iid, iv, lo, hi, count)

    def next_cursor(self, last_open_ns: int, returned: int) -> str | None:
        if self.start is None or returned < self.limit:
            return None
        return encode_cursor({"k": "candles", "i": str(self.instrument),
                              "iv": self.interval.value, "e": self.end, "t": last_open_ns + 1})


@dataclass(frozen=True, slots=True)
class TradeQuery:
    instrument: InstrumentId
    start: int | None
    end: int | None
    limit: int
    after: tuple[int, int, str] | None  # (ts, seq, trade_id) of the last row already sent

    @classmethod
    def parse(cls, instrument: str, start: str | None, end: str | None, limit: int | None,
              cursor: str | None, limits: Limits) -> TradeQuery:
        iid = InstrumentId.parse(instrument, field="instrument")
        lo, hi = parse_time(start, "start"), parse_time(end, "end")
        count = _limit(limit, limits.default_trades, limits.max_trades)
        after = None
        if cursor:
            payload = decode_cursor(cursor, {"k": "trades", "i": str(iid), "e": hi})
            after = (_cursor_int(payload, "t"), _cursor_int(payload, "s"), str(payload.get("id")))
            lo = after[0]
        _range(lo, hi)
        if lo is not None and hi is not None and hi - lo > limits.max_trade_span_ns:
            days = limits.max_trade_span_ns / DAY_NS
            raise Invalid(f"trade queries span at most {days:g} days; page through longer "
                          "periods", field="end")
        return cls(iid, lo, hi, count, after)

    def next_cursor(self, last: tuple[int, int, str], returned: int) -> str | None:
        if self.start is None or returned < self.limit:
            return None
        return encode_cursor({"k": "trades", "i": str(self.instrument), "e": self.end,
                              "t": last[0], "s": last[1], "id": last[2]})
