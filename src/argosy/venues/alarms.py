"""Feed alarms: what a venue connector reports when market data cannot be trusted.

A stale feed, a sequence gap, a crossed book or a failed book sync is not an exception for
the caller (the connector recovers by itself) but every one of them is a hole in the data
that the market data service records and publishes on `md.alarm.<venue>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from argosy.contracts.topics import market_alarm

__all__ = ["AlarmHandler", "FeedAlarm"]


@dataclass(frozen=True, slots=True)
class FeedAlarm:
    """`kind`: stale_feed, disconnected, sequence_gap, book_sync_failed, crossed_book,
    trade_gap, rest_error."""

    venue: str
    kind: str
    message: str
    ts_ns: int
    market: str = ""
    symbol: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return market_alarm(self.venue)

    def to_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "kind": self.kind,
            "message": self.message,
            "ts_ns": self.ts_ns,
            "market": self.market,
            "symbol": self.symbol,
            "details": self.details,
        }


AlarmHandler: TypeAlias = Callable[[FeedAlarm], None]
