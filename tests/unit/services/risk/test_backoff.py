"""Retry delays of protective actions: doubling from the base, capped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from argosy.services.risk.domain.protection import backoff_s


def test_doubles_then_caps() -> None:
    assert [backoff_s(n, 1.0, 60.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_s(0, 1.0, 60.0) == 0.0
    assert backoff_s(10_000, 1.0, 60.0) == 60.0  # no overflow after days of refusals


@given(st.integers(1, 500), st.floats(0.01, 10), st.floats(0.01, 3600))
def test_never_above_the_cap_and_never_shrinks(n: int, base: float, cap: float) -> None:
    assert backoff_s(n, base, cap) <= cap
    assert backoff_s(n + 1, base, cap) >= backoff_s(n, base, cap)
