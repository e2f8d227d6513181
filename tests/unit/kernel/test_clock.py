"""SimClock only moves forward and fires timers in order; conversions are exact."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from argosy.kernel.clock import (
    NS_PER_MS,
    NS_PER_SECOND,
    Clock,
    LiveClock,
    SimClock,
    datetime_to_ns,
    iso_to_ns,
    ms_to_ns,
    ns_to_datetime,
    ns_to_iso,
    ns_to_ms,
)
from argosy.kernel.errors import Invalid


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(LiveClock(), Clock)
    assert isinstance(SimClock(), Clock)


def test_live_clock_reads_wall_time() -> None:
    before = time.time_ns()
    assert before <= LiveClock().now_ns() <= time.time_ns()


def test_sim_clock_moves_forward_only() -> None:
    clock = SimClock(start_ns=1_000)
    clock.advance(500)
    assert clock.now_ns() == 1_500
    clock.advance_to(1_500)  # standing still is allowed
    clock.set_ns(2_000)
    assert clock.now_ns() == 2_000
    with pytest.raises(Invalid):
        clock.advance_to(1_999)
    with pytest.raises(Invalid):
        clock.advance(-1)
    assert clock.now_ns() == 2_000


@given(st.lists(st.tuples(st.booleans(), st.integers(-(10**12), 10**12)), max_size=50))
def test_sim_clock_never_goes_backwards(steps: list[tuple[bool, int]]) -> None:
    clock = SimClock()
    previous = clock.now_ns()
    for absolute, amount in steps:
        try:
            if absolute:
                clock.advance_to(amount)
            else:
                clock.advance(amount)
        except Invalid:
            pass
        assert clock.now_ns() >= previous
        previous = clock.now_ns()


def test_sim_clock_refuses_non_int_times() -> None:
    with pytest.raises(Invalid):
        SimClock(start_ns=1.5)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        SimClock().advance(True)


def test_timers_fire_in_time_order_at_their_due_time() -> None:
    clock = SimClock()
    fired: list[tuple[str, int, int]] = []

    def record(name: str) -> Callable[[int], None]:
        return lambda now: fired.append((name, now, clock.now_ns()))

    clock.call_at(30, record("c"))
    clock.call_at(10, record("a"))
    clock.call_at(10, record("a2"))
    cancelled = clock.call_later(20, record("never"))
    cancelled.cancel()
    clock.call_at(100, record("late"))
    assert clock.next_timer_ns() == 10
    clock.advance_to(50)
    assert fired == [("a", 10, 10), ("a2", 10, 10), ("c", 30, 30)]
    assert clock.now_ns() == 50
    assert clock.next_timer_ns() == 100


def test_timers_scheduled_by_callbacks_fire_in_the_same_move() -> None:
    clock = SimClock()
    fired: list[int] = []
    clock.call_at(10, lambda now: clock.call_later(5, fired.append))
    clock.advance_to(20)
    assert fired == [15]


def test_callbacks_cannot_move_the_clock() -> None:
    clock = SimClock()
    clock.call_at(1, lambda now: clock.advance(1))
    with pytest.raises(Invalid):
        clock.advance(5)
    clock.advance(5)  # the clock is usable again afterwards


@given(st.integers(min_value=0, max_value=4_102_444_800 * NS_PER_SECOND))
def test_iso_round_trip_is_exact(ts_ns: int) -> None:
    assert iso_to_ns(ns_to_iso(ts_ns)) == ts_ns


def test_iso_parsing() -> None:
    assert ns_to_iso(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert iso_to_ns("1970-01-01T00:00:01Z") == NS_PER_SECOND
    assert iso_to_ns("1970-01-01T02:00:00.5+02:00") == NS_PER_SECOND // 2
    for bad in ("1970-01-01T00:00:00", "yesterday", "1970-13-01T00:00:00Z", 5):
        with pytest.raises(Invalid):
            iso_to_ns(bad)  # type: ignore[arg-type]


def test_datetime_conversions() -> None:
    moment = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    ts_ns = datetime_to_ns(moment)
    assert ns_to_datetime(ts_ns) == moment
    assert ns_to_datetime(ts_ns + 999) == moment  # floored to the microsecond
    shifted = moment.astimezone(timezone(timedelta(hours=-5)))
    assert datetime_to_ns(shifted) == ts_ns
    with pytest.raises(Invalid):
        datetime_to_ns(datetime(2024, 1, 1))


def test_millisecond_conversions() -> None:
    assert ms_to_ns(1_700_000_000_000) == 1_700_000_000_000 * NS_PER_MS
    assert ns_to_ms(1_999_999) == 1
    assert ns_to_ms(-1) == -1
