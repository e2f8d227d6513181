"""Circuit breaker: closed → open → half-open → closed | open, on a hand-moved clock."""

from __future__ import annotations

import pytest

from argosy.services.gateway.domain.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_opens_after_threshold_consecutive_failures(clock: Clock) -> None:
    b = CircuitBreaker(failure_threshold=3, open_s=10, clock=clock)
    b.record_failure()
    b.record_failure()
    b.record_success()  # resets the run
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED
    assert b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    assert not b.allow()
    assert b.retry_in() == pytest.approx(10)


def test_half_open_lets_one_trial_and_closes_on_success(clock: Clock) -> None:
    b = CircuitBreaker(failure_threshold=1, open_s=5, clock=clock)
    b.record_failure()
    clock.now = 4.9
    assert not b.allow()
    clock.now = 5.0
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()
    assert not b.allow()  # the single trial is taken
    b.record_success()
    assert b.state is BreakerState.CLOSED
    assert all(b.allow() for _ in range(10))


def test_failed_trial_opens_again_for_a_full_period(clock: Clock) -> None:
    b = CircuitBreaker(failure_threshold=1, open_s=5, clock=clock)
    b.record_failure()
    clock.now = 6
    assert b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.now = 10.9
    assert not b.allow()
    clock.now = 11
    assert b.allow()


def test_lost_trial_frees_its_slot_after_a_period(clock: Clock) -> None:
    b = CircuitBreaker(failure_threshold=1, open_s=5, clock=clock)
    b.record_failure()
    clock.now = 5
    assert b.allow()  # this trial's outcome never comes back
    clock.now = 9
    assert not b.allow()
    clock.now = 10
    assert b.allow()


def test_transitions_are_counted(clock: Clock) -> None:
    b = CircuitBreaker(failure_threshold=1, open_s=1, clock=clock)
    b.record_failure()
    clock.now = 1
    b.allow()
    b.record_success()
    assert b.transitions == 3  # closed→open→half-open→closed


def test_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError, match="threshold"):
        CircuitBreaker(failure_threshold=0)
