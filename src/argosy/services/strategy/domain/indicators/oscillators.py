"""Oscillators: RSI, MACD, Stochastic, CCI.

Each follows TA-Lib's default arithmetic (Wilder smoothing for RSI, MACD's fast EMA seeded
so its first value lines up with the slow one, the stochastic's `(close - low) / (range /
100)`, CCI's mean deviation over the window) so results agree with it to rounding, not
merely in spirit: a backtest screened here must give the same signals as one checked
against TA-Lib.
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
    first_valid,
    kernel,
    rolling_max,
    rolling_min,
    same_length,
)
from argosy.services.strategy.domain.indicators.moving import EMA, SMA, ema_from, sma

__all__ = [
    "CCI",
    "MACD",
    "RSI",
    "MACDValue",
    "Stochastic",
    "StochasticValue",
    "cci",
    "macd",
    "rsi",
    "stochastic",
]

_ZERO = 1e-14  # TA-Lib's TA_IS_ZERO band


class MACDValue(NamedTuple):
    macd: float
    signal: float
    histogram: float


class StochasticValue(NamedTuple):
    k: float
    d: float


@kernel
def _rsi_kernel(x: FloatArray, period: int) -> FloatArray:
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n <= period:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        diff = x[i] - x[i - 1]
        if diff < 0:
            loss -= diff
        else:
            gain += diff
    loss /= period
    gain /= period
    total = gain + loss
    out[period] = 100.0 * (gain / total) if not (-_ZERO < total < _ZERO) else 0.0
    for i in range(period + 1, n):
        diff = x[i] - x[i - 1]
        loss *= period - 1
        gain *= period - 1
        if diff < 0:
            loss -= diff
        else:
            gain += diff
        loss /= period
        gain /= period
        total = gain + loss
        out[i] = 100.0 * (gain / total) if not (-_ZERO < total < _ZERO) else 0.0
    return out


def rsi(values: Any, period: int = 14) -> FloatArray:
    """Wilder's RSI; first value at bar `period`."""
    return _rsi_kernel(as_series(values), check_period(period, minimum=2))


def macd(
    values: Any, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(macd, signal, histogram); all three start at bar slow-1 + signal-1."""
    x = as_series(values)
    check_period(fast, "fast", 2)
    check_period(slow, "slow", 2)
    check_period(signal, "signal")
    fast, slow = min(fast, slow), max(fast, slow)
    start = first_valid(x)
    slow_ema = ema_from(x, slow, start)
    fast_ema = ema_from(x, fast, start + slow - fast)
    line = fast_ema - slow_ema
    sig = ema_from(line, signal, start + slow - 1)
    line[: start + slow + signal - 2] = np.nan
    return line, sig, line - sig


def stochastic(
    high: Any, low: Any, close: Any, k_period: int = 5, k_smooth: int = 3, d_period: int = 3
) -> tuple[FloatArray, FloatArray]:
    """Slow stochastic (%K smoothed by an SMA, %D the SMA of that), TA-Lib's STOCH."""
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    same_length(h, lo, c)
    check_period(k_period, "k_period")
    check_period(k_smooth, "k_smooth")
    check_period(d_period, "d_period")
    highest, lowest = rolling_max(h, k_period), rolling_min(lo, k_period)
    scale = (highest - lowest) / 100.0
    with np.errstate(divide="ignore", invalid="ignore"):
        fast_k = np.where(scale != 0.0, (c - lowest) / scale, 0.0)
    fast_k[np.isnan(highest)] = np.nan
    slow_k = sma(fast_k, k_smooth)
    slow_d = sma(slow_k, d_period)
    slow_k[np.isnan(slow_d)] = np.nan
    return slow_k, slow_d


@kernel
def _cci_kernel(tp: FloatArray, period: int) -> FloatArray:
    n = tp.shape[0]
    out = np.full(n, np.nan)
    ring = np.zeros(period)
    slot = 0
    for i in range(n):
        ring[slot] = tp[i]
        slot = (slot + 1) % period
        if i < period - 1:
            continue
        average = 0.0
        for j in range(period):
            average += ring[j]
        average /= period
        deviation = 0.0
        for j in range(period):
            deviation += abs(ring[j] - average)
        distance = tp[i] - average
        if abs(distance) > _ZERO * (abs(tp[i]) + abs(average)) and deviation >= _ZERO:
            out[i] = distance / (0.015 * (deviation / period))
        else:
            out[i] = 0.0
    return out


def cci(high: Any, low: Any, close: Any, period: int = 14) -> FloatArray:
    """Commodity Channel Index over the typical price (h+l+c)/3."""
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    same_length(h, lo, c)
    return _cci_kernel((h + lo + c) / 3.0, check_period(period, minimum=2))


class RSI:
    """Streaming Wilder RSI, O(1)."""

    __slots__ = ("_count", "_gain", "_loss", "_period", "_prev")

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period, minimum=2)
        self._prev: float | None = None
        self._count = 0
        self._gain = 0.0
        self._loss = 0.0

    def update(self, value: float) -> float | None:
        prev, self._prev = self._prev, value
        if prev is None:
            return None
        diff = value - prev
        period = self._period
        self._count += 1
        if self._count > period:
            self._loss *= period - 1
            self._gain *= period - 1
        if diff < 0:
            self._loss -= diff
        else:
            self._gain += diff
        if self._count < period:
            return None
        self._loss /= period
        self._gain /= period
        total = self._gain + self._loss
        return 100.0 * (self._gain / total) if not (-_ZERO < total < _ZERO) else 0.0


class MACD:
    """Streaming MACD; the fast EMA starts `slow - fast` bars late, as in TA-Lib."""

    __slots__ = ("_delay", "_fast", "_seen", "_signal", "_slow")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        check_period(fast, "fast", 2)
        check_period(slow, "slow", 2)
        fast, slow = min(fast, slow), max(fast, slow)
        self._fast, self._slow, self._signal = EMA(fast), EMA(slow), EMA(signal)
        self._delay = slow - fast
        self._seen = 0

    def update(self, value: float) -> MACDValue | None:
        self._seen += 1
        slow = self._slow.update(value)
        fast = self._fast.update(value) if self._seen > self._delay else None
        if slow is None or fast is None:
            return None
        line = fast - slow
        sig = self._signal.update(line)
        return None if sig is None else MACDValue(line, sig, line - sig)


class Stochastic:
    """Streaming slow stochastic: rolling extremes by monotonic deques, SMAs on top."""

    __slots__ = ("_d", "_high", "_k", "_low")

    def __init__(self, k_period: int = 5, k_smooth: int = 3, d_period: int = 3) -> None:
        check_period(k_period, "k_period")
        self._high = RollingExtreme(k_period, highest=True)
        self._low = RollingExtreme(k_period, highest=False)
        self._k, self._d = SMA(k_smooth), SMA(d_period)

    def update(self, high: float, low: float, close: float) -> StochasticValue | None:
        highest, lowest = self._high.update(high), self._low.update(low)
        if highest is None or lowest is None:
            return None
        scale = (highest - lowest) / 100.0
        slow_k = self._k.update((close - lowest) / scale if scale != 0.0 else 0.0)
        slow_d = None if slow_k is None else self._d.update(slow_k)
        return None if slow_k is None or slow_d is None else StochasticValue(slow_k, slow_d)


class CCI:
    """Streaming CCI. O(period) per update, not O(1): the mean absolute deviation around
    the current mean has no running form; TA-Lib rescans its window the same way."""

    __slots__ = ("_period", "_ring")

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period, minimum=2)
        self._ring: deque[float] = deque(maxlen=period)

    def update(self, high: float, low: float, close: float) -> float | None:
        tp = (high + low + close) / 3.0
        self._ring.append(tp)
        if len(self._ring) < self._period:
            return None
        average = sum(self._ring) / self._period
        deviation = sum(abs(v - average) for v in self._ring)
        distance = tp - average
        if abs(distance) <= _ZERO * (abs(tp) + abs(average)) or deviation < _ZERO:
            return 0.0
        return distance / (0.015 * (deviation / self._period))
