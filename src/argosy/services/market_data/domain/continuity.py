"""Gaps in the record: what caused them, whether they were repaired, and the daily report.

A gap is either a stretch of time when the live stream did not deliver (a reconnect, a
stale feed, the service being down) or a known range of missing ids (trade ids skipped,
a depth sequence break). Each one is recorded when it is found and then repaired where
the venue allows it: missing trades from REST (Binance historicalTrades / aggTrades by
id), bars from klines when trades cannot be had, and the order book from a fresh snapshot
(the venue keeps no history of depth diffs, so the diffs themselves stay lost: such a gap
is "repaired" in the sense that the book is right again, and the report says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Cause",
    "DayStats",
    "GapStatus",
    "Stream",
    "cause_of_alarm",
    "day_report",
    "holes",
]


class Cause(StrEnum):
    RECONNECT = "reconnect"
    STALE_FEED = "stale_feed"
    SEQUENCE_GAP = "sequence_gap"
    TRADE_GAP = "trade_gap"
    DOWNTIME = "downtime"
    STORAGE = "storage"
    BOOK_SYNC_FAILED = "book_sync_failed"
    CROSSED_BOOK = "crossed_book"


class Stream(StrEnum):
    TRADES = "trades"
    BOOK = "book"


class GapStatus(StrEnum):
    OPEN = "open"  # found, repair not attempted or still running
    REPAIRED = "repaired"
    PARTIAL = "partial"  # bars repaired from klines, trades not recoverable
    UNREPAIRABLE = "unrepairable"


_ALARMS: dict[str, tuple[Cause, Stream]] = {
    "disconnected": (Cause.RECONNECT, Stream.TRADES),
    "stale_feed": (Cause.STALE_FEED, Stream.TRADES),
    "sequence_gap": (Cause.SEQUENCE_GAP, Stream.BOOK),
    "book_sync_failed": (Cause.BOOK_SYNC_FAILED, Stream.BOOK),
    "crossed_book": (Cause.CROSSED_BOOK, Stream.BOOK),
    "trade_gap": (Cause.TRADE_GAP, Stream.TRADES),
}


def cause_of_alarm(kind: str) -> tuple[Cause, Stream] | None:
    """The gap a connector alarm announces; None for alarms that are not holes
    (a failed REST call is retried and reported through the gap it was meant to fill)."""
    return _ALARMS.get(kind)


def holes(ids: Iterable[int], first: int | None = None, last: int | None = None
          ) -> list[tuple[int, int]]:
    """Missing id ranges (inclusive) in sorted `ids`, optionally within [first, last]."""
    out: list[tuple[int, int]] = []
    previous = None if first is None else first - 1
    for ident in ids:
        if previous is not None and ident > previous + 1:
            out.append((previous + 1, ident - 1))
        if previous is None or ident > previous:
            previous = ident
    if last is not None and previous is not None and previous < last:
        out.append((previous + 1, last))
    return out


@dataclass(frozen=True, slots=True)
class DayStats:
    """What storage holds for one instrument and UTC day (one stream of ids)."""

    day: str
    trades: int = 0
    first_id: int | None = None
    last_id: int | None = None
    distinct_ids: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    bars_1m: int = 0
    holes: Sequence[tuple[int, int]] = field(default_factory=tuple)


def day_report(stats: DayStats, gaps: Sequence[dict[str, object]],
               mismatches: int) -> dict[str, object]:
    """One day of the continuity report. `complete` means: no id is missing between the
    day's first and last stored trade and every recorded gap touching the day is
    repaired. Ids numeric and consecutive is a property of Binance's streams; for venues
    with opaque ids only the recorded gaps speak."""
    missing = 0
    if stats.first_id is not None and stats.last_id is not None:
        missing = stats.last_id - stats.first_id + 1 - stats.distinct_ids
    unresolved = [g for g in gaps if g.get("status") != GapStatus.REPAIRED.value]
    return {
        "day": stats.day,
        "trades": stats.trades,
        "first_trade_id": stats.first_id,
        "last_trade_id": stats.last_id,
        "first_ts_ns": stats.first_ts,
        "last_ts_ns": stats.last_ts,
        "missing_trade_ids": max(missing, 0),
        "holes": [list(h) for h in stats.holes],
        "bars_1m": stats.bars_1m,
        "gaps": list(gaps),
        "kline_mismatches": mismatches,
        "complete": missing <= 0 and not unresolved and mismatches == 0,
    }
