"""What a channel reports after one send, and what the queue does about it.

The split is by what the sender must do next (the same idea as the kernel's venue errors):
`Sent` is done, `Retry` may work later (429, 5xx, timeouts, a server that is down),
`Reject` will never work (a 4xx: bad number, unknown chat, revoked subscription) and is
dead-lettered at once with the provider's own words, instead of retried for hours.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Outcome",
    "Reject",
    "Retry",
    "RetryPolicy",
    "Sent",
    "Transition",
    "decide",
    "from_http_status",
]


@dataclass(frozen=True, slots=True)
class Sent:
    provider_id: str | None = None
    delivered: bool = False  # the channel confirmed receipt (webhook 2xx, in-app)


@dataclass(frozen=True, slots=True)
class Retry:
    reason: str
    after_s: float | None = None  # the provider's Retry-After, when it gave one


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str
    gone: bool = False  # the recipient no longer exists (an expired push subscription)


Outcome = Sent | Retry | Reject


def from_http_status(status: int, reason: str, retry_after: float | None = None) -> Outcome:
    """408, 425, 429 and 5xx may succeed later; any other 4xx (or 3xx) never will."""
    if 200 <= status < 300:
        return Sent()
    if status in (408, 425, 429) or status >= 500:
        return Retry(f"HTTP {status}: {reason}"[:1000], retry_after)
    return Reject(f"HTTP {status}: {reason}"[:1000])


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 2.0
    max_s: float = 3600.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Exponential with "equal jitter": half fixed, half random, so a provider that
        comes back is not hit by every queued message in the same instant."""
        step = min(self.max_s, self.base_s * 2.0 ** max(0, min(attempt - 1, 40)))
        return step / 2 + rand() * step / 2


State = Literal["sent", "delivered", "failed", "dead"]


@dataclass(frozen=True, slots=True)
class Transition:
    state: State
    next_attempt_ns: int | None = None
    reason: str | None = None
    provider_id: str | None = None


def decide(outcome: Outcome, attempts: int, policy: RetryPolicy, now_ns: int,
           rand: Callable[[], float] = random.random) -> Transition:
    """Where a delivery goes after attempt number `attempts` ended with `outcome`."""
    if isinstance(outcome, Sent):
        return Transition("delivered" if outcome.delivered else "sent",
                          provider_id=outcome.provider_id)
    if isinstance(outcome, Reject):
        return Transition("dead", reason=outcome.reason)
    if attempts >= policy.max_attempts:
        return Transition("dead", reason=f"gave up after {attempts} attempts: {outcome.reason}")
    delay = policy.delay(attempts, rand)
    if outcome.after_s is not None:
        delay = max(delay, min(outcome.after_s, policy.max_s))
    return Transition("failed", now_ns + int(delay * 1e9), outcome.reason)
