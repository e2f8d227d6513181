"""Circuit breaker per upstream service: stop calling a service that keeps failing.

Why: when an upstream hangs, every request waits for its timeout and holds a connection;
failing fast for a while (open) gives the service room to recover and the client an
immediate, clear 503. After `open_s` a limited number of trial requests go through
(half-open): a success closes the circuit, a failure opens it again.

Only failures that say "the service is not answering" count: refused connections,
timeouts and 502/503/504. A 500 from one broken endpoint is the client's answer, not a
reason to cut off the whole service.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        open_s: float = 10.0,
        half_open_trials: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or half_open_trials < 1 or open_s <= 0:
            raise ValueError("threshold and trials must be >= 1, open_s > 0")
        self.failure_threshold = failure_threshold
        self.open_s = open_s
        self.half_open_trials = half_open_trials
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0  # consecutive, while closed
        self._opened_at = 0.0
        self._trials: list[float] = []  # start times of trials in flight (half-open)
        self.transitions = 0  # for metrics and tests

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.open_s:
            self._move(BreakerState.HALF_OPEN)
            self._trials = []
        return self._state

    def retry_in(self) -> float:
        """Seconds until the circuit lets a trial through (0 when it would now)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self.open_s - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a request go to the upstream now? In half-open, this takes a trial slot."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        now = self._clock()
        # a trial whose outcome never came back (cancelled request) frees its slot
        self._trials = [t for t in self._trials if now - t < self.open_s]
        if len(self._trials) < self.half_open_trials:
            self._trials.append(now)
            return True
        return False

    def record_success(self) -> None:
        if self.state is BreakerState.HALF_OPEN:
            self._move(BreakerState.CLOSED)
            self._trials = []
        self._failures = 0

    def record_failure(self) -> None:
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._open()
        elif state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()

    def _open(self) -> None:
        self._move(BreakerState.OPEN)
        self._opened_at = self._clock()
        self._failures = 0
        self._trials = []

    def _move(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            self.transitions += 1
