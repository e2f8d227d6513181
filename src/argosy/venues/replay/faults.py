"""Faults the replay server can be told to inject, so tests can prove recovery.

Socket-level faults (drop every connection, stall them) act at once on the server's live
connections; the ones here are counters consumed by the next frames or requests.
`TradingFaults` are the signed (account and order) endpoints' own: answers that come too
late or fail after the order was (or was not) processed, orders hidden from queries for a
while after they were created, and a skewed server clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["Faults", "Rejection", "TradingFault", "TradingFaults"]


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


@dataclass(frozen=True, slots=True)
class TradingFault:
    """What the next matching signed call gets instead of a normal answer.

    `status`/`code`: the error answered (503 + None: a bare 5xx; 500 + -1006, 408 + -1007:
    Binance's unknown-outcome codes). `delay_s`: the answer is held back this long (a
    client timeout). `processed`: whether the call still took effect on the exchange.
    """

    status: int = 200
    code: int | None = None
    delay_s: float = 0.0
    processed: bool = True
    path: str | None = None  # only calls to this path ("/api/v3/order"); None: any
    method: str | None = None  # only this HTTP method; None: any


_MESSAGES = {
    -1006: "An unexpected response was received from the message bus. Execution status "
           "unknown.",
    -1007: "Timeout waiting for response from backend server. Send status unknown; "
           "execution status unknown.",
}


@dataclass(slots=True)
class TradingFaults:
    queue: deque[TradingFault] = field(default_factory=deque)
    hide_new_orders_s: float = 0.0  # "order does not exist" this long after creation
    skew_ms: int = 0  # added to the server's clock
    applied: list[str] = field(default_factory=list)

    def add(self, fault: TradingFault, count: int = 1) -> None:
        self.queue.extend(fault for _ in range(count))

    def take(self, method: str, path: str) -> TradingFault | None:
        for fault in self.queue:
            if (fault.path is None or fault.path == path) and (
                    fault.method is None or fault.method == method):
                self.queue.remove(fault)
                self.applied.append(f"{method} {path}: {fault}")
                return fault
        return None

    @staticmethod
    def message(code: int | None, status: int) -> str:
        if code in _MESSAGES:
            return _MESSAGES[code]
        return "Service Unavailable." if status >= 500 else "Request failed."
