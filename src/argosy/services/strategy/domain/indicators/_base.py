"""Shared plumbing of the indicator modules: input checks, the numba decorator, and the
small O(1) building blocks the streaming forms reuse.

Why numba with `cache=True`: the recursive indicators (EMA, Wilder smoothing, SuperTrend)
cannot be written as whole-array numpy; a plain Python loop is ~100x slower. The on-disk
cache means a kernel is compiled once per machine, not on every process start, and
numba is imported and a kernel compiled only when it is first called.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from argosy.kernel.errors import Invalid

__all__ = [
    "FloatArray",
    "RollingExtreme",
    "RollingSum",
    "as_series",
    "check_period",
    "first_valid",
    "kernel",
    "nan_array",
    "rolling_max",
    "rolling_min",
    "same_length",
]

FloatArray = npt.NDArray[np.float64]
_F = TypeVar("_F", bound=Callable[..., Any])


def kernel(fn: _F) -> _F:
    """`numba.njit(cache=True)`, applied on the first call: importing numba costs ~0.4 s,
    which code that only needs the numpy indicators (the vectorized backtest) never pays.
    Typed so mypy keeps the wrapped signature."""
    compiled: Callable[..., Any] | None = None

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        nonlocal compiled
        if compiled is None:
            import numba

            compiled = numba.njit(cache=True, nogil=True)(fn)
        return compiled(*args)

    return cast(_F, call)


def check_period(period: int, name: str = "period", minimum: int = 1) -> int:
    if not isinstance(period, int) or isinstance(period, bool) or period < minimum:
        raise Invalid(f"{name} must be an integer >= {minimum}, got {period!r}", field=name)
    return period


def as_series(values: Any, name: str = "values") -> FloatArray:
    """A contiguous 1-D float64 view (copy only when needed) of the caller's input."""
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise Invalid(f"{name} must be one-dimensional, got shape {array.shape}", field=name)
    return array


def same_length(*arrays: FloatArray) -> int:
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise Invalid("price and volume series must have the same length", field="values")
    return n


def first_valid(x: FloatArray) -> int:
    """Index of the first non-NaN value (len(x) if there is none)."""
    valid = ~np.isnan(x)
    return int(np.argmax(valid)) if valid.any() else len(x)


def nan_array(n: int) -> FloatArray:
    return np.full(n, np.nan, dtype=np.float64)


def _rolling(values: FloatArray, period: int, how: Callable[..., FloatArray]) -> FloatArray:
    out = nan_array(len(values))
    if len(values) >= period:
        windows = np.lib.stride_tricks.sliding_window_view(values, period)
        out[period - 1:] = how(windows, axis=1)
    return out


def rolling_max(values: FloatArray, period: int) -> FloatArray:
    """Highest value of the window ending at each bar (NaN for the first period-1)."""
    return _rolling(values, period, np.max)


def rolling_min(values: FloatArray, period: int) -> FloatArray:
    """Lowest value of the window ending at each bar (NaN for the first period-1)."""
    return _rolling(values, period, np.min)


class RollingSum:
    """Sum of the last `period` values, O(1) per update (TA-Lib's running total)."""

    __slots__ = ("_period", "_total", "_window")

    def __init__(self, period: int) -> None:
        self._period = period
        self._window: deque[float] = deque()
        self._total = 0.0

    def update(self, value: float) -> float | None:
        self._window.append(value)
        self._total += value
        if len(self._window) < self._period:
            return None
        total = self._total
        self._total -= self._window.popleft()
        return total


class RollingExtreme:
    """Max (or min) of the last `period` values: monotonic deque, amortized O(1)."""

    __slots__ = ("_count", "_keep", "_period", "_queue")

    def __init__(self, period: int, *, highest: bool) -> None:
        self._period = period
        self._queue: deque[tuple[int, float]] = deque()
        self._count = 0
        self._keep: Callable[[float, float], bool] = (
            (lambda new, old: new < old) if highest else (lambda new, old: new > old)
        )

    def update(self, value: float) -> float | None:
        queue, keep = self._queue, self._keep
        while queue and not keep(value, queue[-1][1]):
            queue.pop()
        queue.append((self._count, value))
        self._count += 1
        if queue[0][0] <= self._count - 1 - self._period:
            queue.popleft()
        return queue[0][1] if self._count >= self._period else None
