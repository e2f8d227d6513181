"""Time as an injected dependency, so backtest, replay and live run the same code.

Every timestamp is an int of nanoseconds since the Unix epoch, UTC. Ints are exact, sort
and subtract without surprises, and match what venues and `time.time_ns` give; datetimes
appear only at the edges (display, parsing user input), through the converters below.

`SimClock` never goes backwards: a replay that delivers an event older than the clock is a
bug upstream, and silently rewinding would let a strategy see the future and then the past.
"""

from __future__ import annotations

import heapq
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol, runtime_checkable

from argosy.kernel.errors import Invalid

__all__ = [
    "NS_PER_MS",
    "NS_PER_SECOND",
    "NS_PER_US",
    "Clock",
    "LiveClock",
    "SimClock",
    "Timer",
    "datetime_to_ns",
    "iso_to_ns",
    "ms_to_ns",
    "ns_to_datetime",
    "ns_to_iso",
    "ns_to_ms",
]

NS_PER_US: Final = 1_000
NS_PER_MS: Final = 1_000_000
NS_PER_SECOND: Final = 1_000_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current time in UTC nanoseconds."""

    def now_ns(self) -> int: ...


class LiveClock:
    """Wall-clock time; it can step backwards when NTP corrects the host."""

    __slots__ = ()

    def now_ns(self) -> int:
        return time.time_ns()


@dataclass(order=True, slots=True)
class Timer:
    """A callback due at `at_ns`; `cancel()` keeps it from firing."""

    at_ns: int
    _seq: int
    callback: Callable[[int], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class SimClock:
    """A clock that moves only when told to, and only forward.

    Timers fire during `advance_to` in time order (ties in scheduling order), with the
    clock set to each timer's due time, so a callback sees the moment it asked for.
    """

    __slots__ = ("_advancing", "_now_ns", "_seq", "_timers")

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = _check_ns(start_ns, "start_ns")
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self._advancing = False

    def now_ns(self) -> int:
        return self._now_ns

    def set_ns(self, ts_ns: int) -> None:
        """Alias of `advance_to` for callers that think in absolute times."""
        self.advance_to(ts_ns)

    def advance(self, delta_ns: int) -> None:
        if _check_ns(delta_ns, "delta_ns") < 0:
            raise Invalid(f"time cannot go backwards (delta {delta_ns} ns)", field="delta_ns")
        self.advance_to(self._now_ns + delta_ns)

    def advance_to(self, ts_ns: int) -> None:
        """Move to `ts_ns`, firing every timer due on the way; equal time is a no-op move."""
        _check_ns(ts_ns, "ts_ns")
        if ts_ns < self._now_ns:
            raise Invalid(
                f"time cannot go backwards: now {self._now_ns}, asked {ts_ns}", field="ts_ns"
            )
        if self._advancing:
            raise Invalid("a timer callback may not advance the clock", field="ts_ns")
        self._advancing = True
        try:
            while self._timers and self._timers[0].at_ns <= ts_ns:
                timer = heapq.heappop(self._timers)
                if timer.cancelled:
                    continue
                self._now_ns = max(self._now_ns, timer.at_ns)
                timer.callback(self._now_ns)
            self._now_ns = ts_ns
        finally:
            self._advancing = False

    def call_at(self, at_ns: int, callback: Callable[[int], object]) -> Timer:
        """Run `callback(now_ns)` once the clock reaches `at_ns` (a past time means next move)."""
        timer = Timer(_check_ns(at_ns, "at_ns"), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def call_later(self, delay_ns: int, callback: Callable[[int], object]) -> Timer:
        if _check_ns(delay_ns, "delay_ns") < 0:
            raise Invalid("delay_ns must not be negative", field="delay_ns")
        return self.call_at(self._now_ns + delay_ns, callback)

    def next_timer_ns(self) -> int | None:
        """When the earliest live timer is due, so a driver can jump straight to it."""
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].at_ns if self._timers else None


def _check_ns(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be int nanoseconds, got {type(value).__name__}", field=field)
    return value


def ms_to_ns(ms: int) -> int:
    return _check_ns(ms, "ms") * NS_PER_MS


def ns_to_ms(ts_ns: int) -> int:
    """Floor to milliseconds, the resolution most venue APIs take."""
    return _check_ns(ts_ns, "ts_ns") // NS_PER_MS


def datetime_to_ns(moment: datetime) -> int:
    """Exact conversion; a naive datetime is refused because its zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid("datetime must carry a time zone", field="datetime")
    return (moment - _EPOCH) // timedelta(microseconds=1) * NS_PER_US


def ns_to_datetime(ts_ns: int) -> datetime:
    """UTC datetime, floored to the microsecond (datetime cannot hold nanoseconds)."""
    return _EPOCH + timedelta(microseconds=_check_ns(ts_ns, "ts_ns") // NS_PER_US)


def ns_to_iso(ts_ns: int) -> str:
    """`2024-01-02T03:04:05.123456789Z`: nine fraction digits, so it converts back exactly."""
    seconds, fraction = divmod(_check_ns(ts_ns, "ts_ns"), NS_PER_SECOND)
    whole = _EPOCH + timedelta(seconds=seconds)
    return f"{whole:%Y-%m-%dT%H:%M:%S}.{fraction:09d}Z"


def iso_to_ns(text: str) -> int:
    """Parse ISO 8601 with an explicit zone (Z or +hh:mm) and up to nine fraction digits."""
    match = _ISO.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise Invalid(
            f"expected an ISO 8601 time with a zone, e.g. 2024-01-02T03:04:05Z, got {text!r}",
            field="timestamp",
        )
    whole, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError as error:
        raise Invalid(f"invalid time {text!r}: {error}", field="timestamp") from None
    return datetime_to_ns(moment) + int((fraction or "").ljust(9, "0"))
