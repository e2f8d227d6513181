"""A sliding-window limiter: at most `limit` acquisitions in any `window` seconds.

Binance counts incoming WebSocket frames per second and disconnects a connection that sends
more; a fixed per-second bucket can let twice the limit through across a second boundary,
a sliding window cannot.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["SlidingWindowLimiter"]


class SlidingWindowLimiter:
    __slots__ = ("_lock", "_monotonic", "_sleep", "_stamps", "limit", "window")

    def __init__(
        self,
        limit: int,
        window: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self._monotonic = monotonic
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = asyncio.Lock()

    def delay(self) -> float:
        """Seconds until one more acquisition fits (0: now)."""
        now = self._monotonic()
        while self._stamps and now - self._stamps[0] >= self.window:
            self._stamps.popleft()
        if len(self._stamps) < self.limit:
            return 0.0
        return self.window - (now - self._stamps[0])

    async def acquire(self) -> None:
        async with self._lock:  # FIFO: callers are served in the order they asked
            while (wait := self.delay()) > 0:
                await self._sleep(wait)
            self._stamps.append(self._monotonic())
