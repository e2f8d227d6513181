"""Progressive delay and lockout arithmetic."""

from __future__ import annotations

from argosy.services.users.domain.throttle import (
    ThrottlePolicy,
    ThrottleState,
    after_failure,
    delay_after,
    wait_for,
)

S = 1_000_000_000
P = ThrottlePolicy(free_failures=3, delay_base_s=1, delay_max_s=8, lock_failures=10,
                   lock_s=900, window_s=3600)


def test_delay_is_free_then_doubles_then_caps_then_locks() -> None:
    assert [delay_after(n, P) for n in range(0, 11)] == [
        0, 0, 0, 0, 1, 2, 4, 8, 8, 8, 900,
    ]
    assert delay_after(10**9, P) == 900


def test_an_attempt_inside_the_delay_is_told_how_long_to_wait() -> None:
    state = None
    for _ in range(5):
        state = after_failure(state, 100 * S, P)
    assert state == ThrottleState(5, 100 * S)
    w = wait_for(state, 100 * S + S // 2, P)
    assert w.seconds == 1.5
    assert not w.locked
    assert wait_for(state, 102 * S, P).seconds == 0


def test_lock_after_threshold_and_release_after_lock_time() -> None:
    state = ThrottleState(10, 1000 * S)
    w = wait_for(state, 1000 * S + 1, P)
    assert w.locked
    assert 899 < w.seconds <= 900
    released = 1000 * S + 900 * S
    assert wait_for(state, released, P).seconds == 0
    assert after_failure(state, released, P) == ThrottleState(1, released)  # count restarts


def test_failures_older_than_the_window_are_forgotten() -> None:
    state = ThrottleState(7, 0)
    assert after_failure(state, 3600 * S, P) == ThrottleState(1, 3600 * S)
    assert after_failure(state, 3599 * S, P) == ThrottleState(8, 3599 * S)
    assert wait_for(None, 0, P).seconds == 0
