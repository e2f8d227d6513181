"""Login throttling: how long a caller must wait after consecutive failed logins.

Two thresholds. After `free_failures` the next attempt waits `delay_base_s`, doubling per
failure up to `delay_max_s` (progressive delay: slows guessing, barely bothers a human).
At `lock_failures` the account (or IP) is locked for `lock_s`; a lock that has run out
starts the count again. Waiting is enforced by refusing early attempts with Retry-After,
never by sleeping in the server, so throttling costs the server nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["ThrottlePolicy", "ThrottleState", "Wait", "after_failure", "delay_after", "stale",
           "wait_for"]

_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_failures: int = 3
    delay_base_s: float = 1.0
    delay_max_s: float = 60.0
    lock_failures: int = 10
    lock_s: float = 900.0
    window_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class ThrottleState:
    failures: int
    last_failure_ns: int


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float  # 0.0: the attempt may proceed
    locked: bool  # the wait is a lock, not a progressive delay


def delay_after(failures: int, policy: ThrottlePolicy) -> float:
    """Seconds the next attempt must wait after `failures` consecutive failures."""
    if failures >= policy.lock_failures:
        return policy.lock_s
    extra = failures - policy.free_failures
    if extra <= 0:
        return 0.0
    # exponent capped so huge counts never overflow a float
    return float(min(policy.delay_max_s, policy.delay_base_s * 2 ** min(extra - 1, 60)))


def stale(state: ThrottleState, now_ns: int, policy: ThrottlePolicy) -> bool:
    """True when the failures no longer count: the window passed or the lock was served."""
    age_s = (now_ns - state.last_failure_ns) / _NS
    if state.failures >= policy.lock_failures:
        return age_s >= policy.lock_s
    return age_s >= policy.window_s


def wait_for(state: ThrottleState | None, now_ns: int, policy: ThrottlePolicy) -> Wait:
    """How long an attempt made at `now_ns` must still wait."""
    if state is None or state.failures <= 0 or stale(state, now_ns, policy):
        return Wait(0.0, False)
    due_ns = state.last_failure_ns + int(delay_after(state.failures, policy) * _NS)
    remaining = max(0.0, (due_ns - now_ns) / _NS)
    locked = state.failures >= policy.lock_failures
    return Wait(math.ceil(remaining * 1000) / 1000, locked and remaining > 0)


def after_failure(
    state: ThrottleState | None, now_ns: int, policy: ThrottlePolicy
) -> ThrottleState:
    """The state after one more failure; stale or served-out state starts from zero."""
    if state is None or stale(state, now_ns, policy):
        return ThrottleState(1, now_ns)
    return ThrottleState(state.failures + 1, now_ns)
