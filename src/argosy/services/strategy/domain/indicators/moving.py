"""Moving averages: SMA, EMA, WMA, DEMA, TEMA.

Vectorized functions take a 1-D series and return a float64 array of the same length,
NaN during warm-up, exactly where TA-Lib puts its lookback. Streaming classes take one value
per `update` (O(1)) and return None during the same warm-up. The EMA is seeded with the
SMA of its first `period` inputs, as TA-Lib does by default, so both forms agree with it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from argosy.services.strategy.domain.indicators._base import (
    FloatArray,
    RollingSum,
    as_series,
    check_period,
    first_valid,
    kernel,
    nan_array,
)

__all__ = [
    "DEMA",
    "EMA",
    "SMA",
    "TEMA",
    "WMA",
    "dema",
    "ema",
    "ema_from",
    "sma",
    "tema",
    "wma",
]


def sma(values: Any, period: int = 30) -> FloatArray:
    """Simple moving average; each window summed on its own (no running-sum drift)."""
    x = as_series(values)
    check_period(period)
    out = nan_array(len(x))
    if len(x) >= period:
        windows = np.lib.stride_tricks.sliding_window_view(x, period)
        out[period - 1:] = windows.sum(axis=1) / period
    return out


@kernel
def _ema_kernel(values: FloatArray, period: int, start: int, k: float) -> FloatArray:
    n = values.shape[0]
    out = np.full(n, np.nan)
    seed_end = start + period - 1
    if seed_end >= n:
        return out
    total = 0.0
    for i in range(start, seed_end + 1):
        total += values[i]
    prev = total / period
    out[seed_end] = prev
    for i in range(seed_end + 1, n):
        prev = (values[i] - prev) * k + prev
        out[i] = prev
    return out


def ema_from(values: FloatArray, period: int, start: int) -> FloatArray:
    """EMA whose SMA seed starts at bar `start` (earlier bars are ignored)."""
    return _ema_kernel(values, period, start, 2.0 / (period + 1))


def ema(values: Any, period: int = 30) -> FloatArray:
    """Exponential moving average, k = 2 / (period + 1), seeded by the first SMA."""
    x = as_series(values)
    check_period(period)
    return ema_from(x, period, first_valid(x))


def wma(values: Any, period: int = 30) -> FloatArray:
    """Linearly weighted moving average (newest weight `period`, oldest weight 1)."""
    x = as_series(values)
    check_period(period)
    out = nan_array(len(x))
    if len(x) >= period:
        weights = np.arange(1, period + 1, dtype=np.float64)
        windows = np.lib.stride_tricks.sliding_window_view(x, period)
        out[period - 1:] = windows @ weights / (period * (period + 1) // 2)
    return out


def dema(values: Any, period: int = 30) -> FloatArray:
    """Double EMA: 2*EMA - EMA(EMA); first value at bar 2*(period-1)."""
    x = as_series(values)
    check_period(period)
    first = ema_from(x, period, first_valid(x))
    second = ema_from(first, period, first_valid(first))
    return 2.0 * first - second


def tema(values: Any, period: int = 30) -> FloatArray:
    """Triple EMA: 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA)); first value at bar 3*(period-1)."""
    x = as_series(values)
    check_period(period)
    first = ema_from(x, period, first_valid(x))
    second = ema_from(first, period, first_valid(first))
    third = ema_from(second, period, first_valid(second))
    return third + (3.0 * first - 3.0 * second)


class SMA:
    """Streaming simple moving average: a running total over a ring of `period` values."""

    __slots__ = ("_period", "_sum")

    def __init__(self, period: int = 30) -> None:
        self._period = check_period(period)
        self._sum = RollingSum(period)

    def update(self, value: float) -> float | None:
        total = self._sum.update(value)
        return None if total is None else total / self._period


class EMA:
    """Streaming EMA, SMA-seeded like the vectorized form (bit-identical results)."""

    __slots__ = ("_count", "_k", "_period", "_total", "value")

    def __init__(self, period: int = 30) -> None:
        self._period = check_period(period)
        self._k = 2.0 / (period + 1)
        self._count = 0
        self._total = 0.0
        self.value: float | None = None

    def update(self, value: float) -> float | None:
        if self.value is None:
            self._total += value
            self._count += 1
            if self._count == self._period:
                self.value = self._total / self._period
            return self.value
        self.value = (value - self.value) * self._k + self.value
        return self.value


class WMA:
    """Streaming WMA in O(1): keeps the plain and the weighted running sums."""

    __slots__ = ("_divider", "_period", "_plain", "_weighted", "_window")

    def __init__(self, period: int = 30) -> None:
        self._period = check_period(period)
        self._divider = period * (period + 1) // 2
        self._window: deque[float] = deque()
        self._plain = 0.0
        self._weighted = 0.0

    def update(self, value: float) -> float | None:
        window = self._window
        if len(window) < self._period:
            window.append(value)
            self._plain += value
            self._weighted += value * len(window)
            if len(window) < self._period:
                return None
            return self._weighted / self._divider
        # Every weight drops by one (minus the plain sum), the oldest leaves, the new one
        # enters with the top weight.
        self._weighted += value * self._period - self._plain
        window.append(value)
        self._plain += value - window.popleft()
        return self._weighted / self._divider


class DEMA:
    """Streaming DEMA: an EMA and an EMA of its outputs."""

    __slots__ = ("_first", "_second")

    def __init__(self, period: int = 30) -> None:
        self._first = EMA(period)
        self._second = EMA(period)

    def update(self, value: float) -> float | None:
        first = self._first.update(value)
        if first is None:
            return None
        second = self._second.update(first)
        return None if second is None else 2.0 * first - second


class TEMA:
    """Streaming TEMA: three chained EMAs."""

    __slots__ = ("_first", "_second", "_third")

    def __init__(self, period: int = 30) -> None:
        self._first, self._second, self._third = EMA(period), EMA(period), EMA(period)

    def update(self, value: float) -> float | None:
        first = self._first.update(value)
        second = None if first is None else self._second.update(first)
        third = None if second is None else self._third.update(second)
        if first is None or second is None or third is None:
            return None
        return third + (3.0 * first - 3.0 * second)
