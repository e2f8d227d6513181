"""Faults the replay server can be told to inject, so tests can prove recovery.

Socket-level faults (drop every connection, stall them) act at once on the server's live
connections; the ones here are counters consumed by the next frames or requests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["Faults", "Rejection"]


@dataclass(frozen=True, slots=True)
class Rejection:
    status: int  # 429, 418, 500, 503...
    retry_after_s: float | None = None


@dataclass(slots=True)
class Faults:
    skip_depth: int = 0  # depth frames to withhold from every client (the book still moves)
    skip_symbol: str | None = None
    duplicate: int = 0  # frames to send twice
    duplicate_event: str | None = None  # only frames of this event kind ("trade"...)
    rejections: deque[Rejection] = field(default_factory=deque)
    applied: list[str] = field(default_factory=list)  # what was injected, for the test log

    def take_skip(self, event: str, symbol: str) -> bool:
        if self.skip_depth <= 0 or event != "depthUpdate":
            return False
        if self.skip_symbol is not None and symbol != self.skip_symbol:
            return False
        self.skip_depth -= 1
        self.applied.append(f"skipped depth frame of {symbol}")
        return True

    def take_duplicate(self, event: str) -> bool:
        if self.duplicate <= 0:
            return False
        if self.duplicate_event is not None and event != self.duplicate_event:
            return False
        self.duplicate -= 1
        self.applied.append(f"duplicated {event} frame")
        return True

    def take_rejection(self) -> Rejection | None:
        if not self.rejections:
            return None
        rejection = self.rejections.popleft()
        self.applied.append(f"rejected a REST call with {rejection.status}")
        return rejection
