"""Quiet hours in the user's own time zone, and when a digest is due.

Quiet hours are wall-clock times in an IANA zone, so "22:00-07:00" keeps meaning 22:00 to
07:00 across daylight-saving changes; a window may wrap midnight. The answer is the instant
the window ends, so a held message is simply scheduled for then and released by the queue.
A daily digest at "08:00" likewise means 08:00 on the user's wall clock, whatever the
UTC offset that day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from argosy.kernel.errors import Invalid

__all__ = ["QuietHours", "digest_due_ns", "next_local_ns", "parse_clock"]

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_NS = 1_000_000_000


def parse_clock(text: str, field: str) -> time:
    match = _CLOCK.match(text)
    if not match:
        raise Invalid(f"a time of day as HH:MM (24 h), got {text!r}", field=field)
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise Invalid("quiet hours must not start and end at the same time",
                          field="quiet_hours.end")

    def until_ns(self, now_ns: int) -> int | None:
        """The end of the quiet period containing `now_ns` (UTC ns), or None if not quiet."""
        zone = ZoneInfo(self.timezone)
        local = datetime.fromtimestamp(now_ns / _NS, zone)
        t = local.time().replace(tzinfo=None)
        if self.start < self.end:
            if not (self.start <= t < self.end):
                return None
            end_day = local.date()
        elif t >= self.start:
            end_day = local.date() + timedelta(days=1)
        elif t < self.end:
            end_day = local.date()
        else:
            return None
        end = datetime.combine(end_day, self.end, tzinfo=zone)
        # a wall-clock end inside a DST gap does not exist: fold it forward to a real instant
        end_ns = int(end.astimezone(UTC).timestamp()) * _NS
        return max(end_ns, now_ns + 1)


def next_local_ns(after_ns: int, at: time, timezone: str) -> int:
    """The first instant after `after_ns` at which the wall clock in `timezone` reads `at`.
    A time skipped by a daylight-saving jump (02:30 on the spring-forward night) is read
    with the offset before the jump, i.e. it comes out just after the gap (03:30); a time
    that happens twice (autumn) is its first occurrence."""
    zone = ZoneInfo(timezone)
    day = datetime.fromtimestamp(after_ns / _NS, zone).date()
    while True:
        candidate = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
        candidate_ns = int(candidate.timestamp()) * _NS
        if candidate_ns > after_ns:
            return candidate_ns
        day += timedelta(days=1)


def digest_due_ns(first_item_ns: int, interval_s: int, at: time | None = None,
                  timezone: str = "UTC") -> int:
    """A digest collects from its first item for `interval_s`, then goes out; or, with a
    time of day `at`, goes out at the next `at` in the user's zone after its first item."""
    if at is not None:
        return next_local_ns(first_item_ns, at, timezone)
    return first_item_ns + interval_s * _NS
