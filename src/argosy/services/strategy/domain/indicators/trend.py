"""Trend indicators: ADX (with +DI / -DI) and Ichimoku.

ADX is Wilder's, in TA-Lib's arithmetic: directional movement and true range are summed
over the first period-1 bars, then smoothed as `x - x/period + new`; the first ADX is the
mean of `period` DX values (bar 2*period-1), +DI/-DI start at bar `period`.

Ichimoku lines are reported as known at each bar, with no look-ahead: `span_a[t]` and
`span_b[t]` are the cloud drawn at t, i.e. computed `displacement` bars earlier. The
lagging span (close shifted back) is not an indicator a strategy can read at t, so it is
left out: at bar t it would be `close[t]` plotted at t - displacement.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

import numpy as np

from argosy.services.strategy.domain.indicators._base import (
    FloatArray,
    RollingExtreme,
    as_series,
    check_period,
    kernel,
    nan_array,
    rolling_max,
    rolling_min,
    same_length,
)

__all__ = ["ADX", "ADXValue", "Ichimoku", "IchimokuValue", "adx", "ichimoku"]

_ZERO = 1e-14  # TA-Lib's TA_IS_ZERO band


class ADXValue(NamedTuple):
    adx: float
    plus_di: float
    minus_di: float


class IchimokuValue(NamedTuple):
    tenkan: float
    kijun: float
    span_a: float
    span_b: float


@kernel
def _adx_kernel(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    n = high.shape[0]
    adx_out, plus_out, minus_out = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    plus_dm = 0.0
    minus_dm = 0.0
    tr = 0.0
    sum_dx = 0.0
    adx_value = 0.0
    for i in range(1, n):
        diff_p = high[i] - high[i - 1]
        diff_m = low[i - 1] - low[i]
        plus = 0.0
        minus = 0.0
        if diff_m > 0 and diff_p < diff_m:
            minus = diff_m
        elif diff_p > 0 and diff_p > diff_m:
            plus = diff_p
        true_range = high[i] - low[i]
        gap = abs(high[i] - close[i - 1])
        if gap > true_range:
            true_range = gap
        gap = abs(low[i] - close[i - 1])
        if gap > true_range:
            true_range = gap
        if i < period:
            minus_dm += minus
            plus_dm += plus
            tr += true_range
            continue
        minus_dm -= minus_dm / period
        plus_dm -= plus_dm / period
        minus_dm += minus
        plus_dm += plus
        tr = tr - tr / period + true_range
        dx = np.nan
        if -_ZERO < tr < _ZERO:
            plus_out[i] = 0.0
            minus_out[i] = 0.0
        else:
            minus_di = 100.0 * (minus_dm / tr)
            plus_di = 100.0 * (plus_dm / tr)
            plus_out[i] = plus_di
            minus_out[i] = minus_di
            total = minus_di + plus_di
            if not (-_ZERO < total < _ZERO):
                dx = 100.0 * (abs(minus_di - plus_di) / total)
        if i < 2 * period - 1:
            if not np.isnan(dx):
                sum_dx += dx
        elif i == 2 * period - 1:
            if not np.isnan(dx):
                sum_dx += dx
            adx_value = sum_dx / period
            adx_out[i] = adx_value
        else:
            if not np.isnan(dx):
                adx_value = (adx_value * (period - 1) + dx) / period
            adx_out[i] = adx_value
    return adx_out, plus_out, minus_out


def adx(
    high: Any, low: Any, close: Any, period: int = 14
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(adx, plus_di, minus_di)."""
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    same_length(h, lo, c)
    return _adx_kernel(h, lo, c, check_period(period, minimum=2))


def _midpoint(high: FloatArray, low: FloatArray, period: int) -> FloatArray:
    return (rolling_max(high, period) + rolling_min(low, period)) / 2.0


def _shift(values: FloatArray, bars: int) -> FloatArray:
    out = nan_array(len(values))
    if bars < len(values):
        out[bars:] = values[: len(values) - bars]
    return out


def ichimoku(
    high: Any, low: Any, tenkan: int = 9, kijun: int = 26, senkou: int = 52,
    displacement: int = 26,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(tenkan, kijun, span_a, span_b) as known at each bar (see the module docstring)."""
    h, lo = as_series(high, "high"), as_series(low, "low")
    same_length(h, lo)
    for name, value in (("tenkan", tenkan), ("kijun", kijun), ("senkou", senkou)):
        check_period(value, name)
    check_period(displacement, "displacement", 0)
    conversion, base = _midpoint(h, lo, tenkan), _midpoint(h, lo, kijun)
    span_a = _shift((conversion + base) / 2.0, displacement)
    span_b = _shift(_midpoint(h, lo, senkou), displacement)
    return conversion, base, span_a, span_b


class ADX:
    """Streaming ADX, O(1); returns None until the first ADX (bar 2*period-1)."""

    __slots__ = ("_adx", "_count", "_minus", "_period", "_plus", "_prev", "_sum_dx", "_tr")

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period, minimum=2)
        self._prev: tuple[float, float, float] | None = None
        self._count = 0
        self._plus = self._minus = self._tr = self._sum_dx = self._adx = 0.0

    def update(self, high: float, low: float, close: float) -> ADXValue | None:
        prev, self._prev = self._prev, (high, low, close)
        if prev is None:
            return None
        prev_high, prev_low, prev_close = prev
        diff_p, diff_m = high - prev_high, prev_low - low
        plus = minus = 0.0
        if diff_m > 0 and diff_p < diff_m:
            minus = diff_m
        elif diff_p > 0 and diff_p > diff_m:
            plus = diff_p
        true_range = max(high - low, abs(high - prev_close), abs(low - prev_close))
        period = self._period
        self._count += 1
        if self._count < period:
            self._minus += minus
            self._plus += plus
            self._tr += true_range
            return None
        self._minus -= self._minus / period
        self._plus -= self._plus / period
        self._minus += minus
        self._plus += plus
        self._tr = self._tr - self._tr / period + true_range
        dx = None
        plus_di = minus_di = 0.0
        if not -_ZERO < self._tr < _ZERO:
            minus_di = 100.0 * (self._minus / self._tr)
            plus_di = 100.0 * (self._plus / self._tr)
            total = minus_di + plus_di
            if not -_ZERO < total < _ZERO:
                dx = 100.0 * (abs(minus_di - plus_di) / total)
        if self._count < 2 * period - 1:
            self._sum_dx += dx or 0.0
            return None
        if self._count == 2 * period - 1:
            self._sum_dx += dx or 0.0
            self._adx = self._sum_dx / period
        elif dx is not None:
            self._adx = (self._adx * (period - 1) + dx) / period
        return ADXValue(self._adx, plus_di, minus_di)


class Ichimoku:
    """Streaming Ichimoku: six monotonic deques and a delay line of `displacement` spans."""

    __slots__ = ("_delay", "_displacement", "_windows")

    def __init__(
        self, tenkan: int = 9, kijun: int = 26, senkou: int = 52, displacement: int = 26
    ) -> None:
        self._windows = [
            (RollingExtreme(check_period(p), highest=True), RollingExtreme(p, highest=False))
            for p in (tenkan, kijun, senkou)
        ]
        self._displacement = check_period(displacement, "displacement", 0)
        self._delay: deque[tuple[float | None, float | None]] = deque()

    def update(self, high: float, low: float) -> IchimokuValue | None:
        mids: list[float | None] = []
        for highest, lowest in self._windows:
            top, bottom = highest.update(high), lowest.update(low)
            mids.append(None if top is None or bottom is None else (top + bottom) / 2.0)
        conversion, base, slow = mids
        raw_a = None if conversion is None or base is None else (conversion + base) / 2.0
        self._delay.append((raw_a, slow))
        if len(self._delay) <= self._displacement:
            return None
        span_a, span_b = self._delay.popleft()
        if conversion is None or base is None or span_a is None or span_b is None:
            return None
        return IchimokuValue(conversion, base, span_a, span_b)
