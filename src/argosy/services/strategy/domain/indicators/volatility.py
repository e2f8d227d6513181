"""Volatility and channel indicators: Bollinger Bands, true range and ATR, Keltner and
Donchian channels, SuperTrend.

Bollinger's deviation is a second pass over the window around the mean, as TA-Lib 0.8
does: the shortcut "mean of squares - square of mean" cancels catastrophically on flat or
cheap instruments (a 4e-9 deviation on XMR/BTC came out 10 % low, a flat window nonzero).
ATR is Wilder's smoothing seeded by the SMA of the first `period` true ranges (first value
at bar `period`), which Keltner and SuperTrend reuse, so every ATR-based band here is built
on the same numbers.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, NamedTuple

import numpy as np

from argosy.services.strategy.domain.indicators._base import (
    FloatArray,
    RollingExtreme,
    RollingSum,
    as_series,
    check_period,
    kernel,
    rolling_max,
    rolling_min,
    same_length,
)
from argosy.services.strategy.domain.indicators.moving import EMA, ema

__all__ = [
    "ATR",
    "Bands",
    "Bollinger",
    "Donchian",
    "Keltner",
    "SuperTrend",
    "SuperTrendValue",
    "atr",
    "bollinger",
    "donchian",
    "keltner",
    "supertrend",
    "true_range",
]


class Bands(NamedTuple):
    upper: float
    middle: float
    lower: float


class SuperTrendValue(NamedTuple):
    value: float
    direction: int  # +1 up trend (line below price), -1 down trend (line above)


@kernel
def _bollinger_kernel(
    x: FloatArray, period: int, up: float, down: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = x.shape[0]
    upper, middle, lower = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    total = 0.0
    for i in range(min(period - 1, n)):
        total += x[i]
    for i in range(period - 1, n):
        total += x[i]
        mean = total / period
        total -= x[i - period + 1]
        squares = 0.0
        for j in range(i - period + 1, i + 1):
            squares += (x[j] - mean) * (x[j] - mean)
        deviation = math.sqrt(squares / period)
        middle[i] = mean
        upper[i] = mean + up * deviation
        lower[i] = mean - down * deviation
    return upper, middle, lower


def bollinger(
    values: Any, period: int = 20, up: float = 2.0, down: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(upper, middle, lower): SMA +/- k population standard deviations."""
    return _bollinger_kernel(as_series(values), check_period(period), float(up), float(down))


def true_range(high: Any, low: Any, close: Any) -> FloatArray:
    """max(high-low, |high-prev close|, |low-prev close|); NaN at bar 0 (no previous close)."""
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    same_length(h, lo, c)
    out = np.full(len(h), np.nan)
    if len(h) > 1:
        prev = c[:-1]
        out[1:] = np.maximum(
            np.maximum(h[1:] - lo[1:], np.abs(prev - h[1:])), np.abs(lo[1:] - prev)
        )
    return out


@kernel
def _wilder_kernel(tr: FloatArray, period: int) -> FloatArray:
    n = tr.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    total = 0.0
    for i in range(1, period + 1):
        total += tr[i]
    prev = total / period
    out[period] = prev
    for i in range(period + 1, n):
        prev *= period - 1
        prev += tr[i]
        prev /= period
        out[i] = prev
    return out


def atr(high: Any, low: Any, close: Any, period: int = 14) -> FloatArray:
    """Wilder's Average True Range; first value at bar `period`."""
    return _wilder_kernel(true_range(high, low, close), check_period(period, minimum=2))


def keltner(
    high: Any, low: Any, close: Any, period: int = 20, atr_period: int = 10,
    multiplier: float = 2.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(upper, middle, lower): EMA(close) +/- multiplier * ATR."""
    middle = ema(close, period)
    width = multiplier * atr(high, low, close, atr_period)
    return middle + width, middle, middle - width


def donchian(
    high: Any, low: Any, period: int = 20
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(upper, middle, lower): highest high and lowest low of the last `period` bars."""
    h, lo = as_series(high, "high"), as_series(low, "low")
    same_length(h, lo)
    check_period(period)
    upper, lower = rolling_max(h, period), rolling_min(lo, period)
    return upper, (upper + lower) / 2.0, lower


@kernel
def _supertrend_kernel(
    hl2: FloatArray, close: FloatArray, width: FloatArray
) -> tuple[FloatArray, FloatArray]:
    n = close.shape[0]
    line, direction = np.full(n, np.nan), np.full(n, np.nan)
    trend = -1
    upper_prev = np.nan
    lower_prev = np.nan
    for i in range(n):
        if np.isnan(width[i]):
            continue
        upper = hl2[i] + width[i]
        lower = hl2[i] - width[i]
        if not np.isnan(upper_prev):
            if not (lower > lower_prev or close[i - 1] < lower_prev):
                lower = lower_prev
            if not (upper < upper_prev or close[i - 1] > upper_prev):
                upper = upper_prev
            through = close[i] > upper if trend < 0 else close[i] < lower
            if through:
                trend = -trend
        line[i] = lower if trend > 0 else upper
        direction[i] = trend
        upper_prev, lower_prev = upper, lower
    return line, direction


def supertrend(
    high: Any, low: Any, close: Any, period: int = 10, multiplier: float = 3.0
) -> tuple[FloatArray, FloatArray]:
    """(line, direction), as TradingView's `ta.supertrend` (but +1 = up trend): bands at
    hl2 +/- multiplier*ATR that only move towards price until a close goes through them;
    the line is the lower band in an up trend, the upper one in a down trend (the start)."""
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    width = multiplier * atr(h, lo, c, period)
    return _supertrend_kernel((h + lo) / 2.0, c, width)


class Bollinger:
    """Streaming Bollinger Bands. O(period) per update, not O(1): the exact deviation
    needs a pass over the window (see the module docstring for why not running sums)."""

    __slots__ = ("_down", "_period", "_sum", "_up", "_window")

    def __init__(self, period: int = 20, up: float = 2.0, down: float = 2.0) -> None:
        self._period = check_period(period)
        self._up, self._down = float(up), float(down)
        self._window: deque[float] = deque(maxlen=period)
        self._sum = RollingSum(period)

    def update(self, value: float) -> Bands | None:
        self._window.append(value)
        total = self._sum.update(value)
        if total is None:
            return None
        mean = total / self._period
        squares = 0.0
        for x in self._window:
            squares += (x - mean) * (x - mean)
        deviation = math.sqrt(squares / self._period)
        return Bands(mean + self._up * deviation, mean, mean - self._down * deviation)


class ATR:
    """Streaming Wilder ATR, O(1)."""

    __slots__ = ("_count", "_period", "_prev_close", "value")

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period, minimum=2)
        self._prev_close: float | None = None
        self._count = 0
        self.value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        prev, self._prev_close = self._prev_close, close
        if prev is None:
            return None
        tr = max(high - low, abs(prev - high), abs(low - prev))
        period = self._period
        self._count += 1
        if self._count <= period:
            self.value = (self.value or 0.0) + tr
            if self._count < period:
                return None
            self.value /= period
            return self.value
        assert self.value is not None
        self.value = (self.value * (period - 1) + tr) / period
        return self.value


class Keltner:
    """Streaming Keltner channel: EMA(close) +/- multiplier * ATR."""

    __slots__ = ("_atr", "_ema", "_multiplier")

    def __init__(self, period: int = 20, atr_period: int = 10, multiplier: float = 2.0) -> None:
        self._ema, self._atr, self._multiplier = EMA(period), ATR(atr_period), multiplier

    def update(self, high: float, low: float, close: float) -> Bands | None:
        middle, range_ = self._ema.update(close), self._atr.update(high, low, close)
        if middle is None or range_ is None:
            return None
        width = self._multiplier * range_
        return Bands(middle + width, middle, middle - width)


class Donchian:
    """Streaming Donchian channel, amortized O(1) by monotonic deques."""

    __slots__ = ("_high", "_low")

    def __init__(self, period: int = 20) -> None:
        check_period(period)
        self._high = RollingExtreme(period, highest=True)
        self._low = RollingExtreme(period, highest=False)

    def update(self, high: float, low: float) -> Bands | None:
        upper, lower = self._high.update(high), self._low.update(low)
        if upper is None or lower is None:
            return None
        return Bands(upper, (upper + lower) / 2.0, lower)


class SuperTrend:
    """Streaming SuperTrend over the streaming ATR, O(1)."""

    __slots__ = ("_atr", "_close", "_lower", "_multiplier", "_trend", "_upper")

    def __init__(self, period: int = 10, multiplier: float = 3.0) -> None:
        self._atr, self._multiplier = ATR(period), multiplier
        self._upper: float | None = None
        self._lower = 0.0
        self._close = 0.0
        self._trend = -1

    def update(self, high: float, low: float, close: float) -> SuperTrendValue | None:
        range_ = self._atr.update(high, low, close)
        previous_close, self._close = self._close, close
        if range_ is None:
            return None
        hl2, width = (high + low) / 2.0, self._multiplier * range_
        upper, lower = hl2 + width, hl2 - width
        if self._upper is not None:
            if not (lower > self._lower or previous_close < self._lower):
                lower = self._lower
            if not (upper < self._upper or previous_close > self._upper):
                upper = self._upper
            through = close > upper if self._trend < 0 else close < lower
            if through:
                self._trend = -self._trend
        self._upper, self._lower = upper, lower
        return SuperTrendValue(lower if self._trend > 0 else upper, self._trend)
