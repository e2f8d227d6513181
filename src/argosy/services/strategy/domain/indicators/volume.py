"""Volume indicators: OBV, MFI, VWAP.

MFI follows TA-Lib 0.8's rules: a typical-price change within 1e-14 of the prices'
magnitude counts as no move (it is rounding, not a trade direction), a window with no money
flow reads 0, and after a full window of no flow the sums are reset so rounding residue
cannot leak into later values.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.indicators._base import (
    FloatArray,
    as_series,
    check_period,
    kernel,
    same_length,
)

__all__ = ["MFI", "OBV", "VWAP", "mfi", "obv", "session_starts", "vwap"]

_EPSILON = 1e-14


def obv(close: Any, volume: Any) -> FloatArray:
    """On-balance volume, starting from the first bar's volume (TA-Lib's convention)."""
    c, v = as_series(close, "close"), as_series(volume, "volume")
    same_length(c, v)
    signed = np.zeros(len(c))
    if len(c):
        signed[0] = v[0]
        move = np.sign(np.diff(c))
        signed[1:] = move * v[1:]
        signed[1:][move == 0] = 0.0
    return np.cumsum(signed)


@kernel
def _mfi_kernel(tp: FloatArray, volume: FloatArray, period: int) -> FloatArray:
    n = tp.shape[0]
    out = np.full(n, np.nan)
    positive = np.zeros(period)
    negative = np.zeros(period)
    pos_sum = 0.0
    neg_sum = 0.0
    null_run = 0
    slot = 0
    for i in range(1, n):
        if i > period:
            pos_sum -= positive[slot]
            neg_sum -= negative[slot]
        diff = tp[i] - tp[i - 1]
        scale = abs(tp[i]) + abs(tp[i - 1])
        flow = 0.0 if abs(diff) <= _EPSILON * scale else tp[i] * volume[i]
        pos_flow = 0.0 if diff < 0.0 else flow
        neg_flow = flow if diff < 0.0 else 0.0
        positive[slot] = pos_flow
        negative[slot] = neg_flow
        pos_sum += pos_flow
        neg_sum += neg_flow
        null_run = null_run + 1 if flow == 0.0 else 0
        if null_run >= period:
            null_run = period
            pos_sum = 0.0
            neg_sum = 0.0
        slot = slot + 1 if slot + 1 < period else 0
        if i < period:
            continue
        total = pos_sum + neg_sum
        clamped = 0.0 if pos_sum < 0.0 else min(pos_sum, total)
        out[i] = 0.0 if total <= 0.0 else 100.0 * (clamped / total)
    return out


def mfi(high: Any, low: Any, close: Any, volume: Any, period: int = 14) -> FloatArray:
    """Money Flow Index: RSI of typical price weighted by volume; first value at `period`."""
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    v = as_series(volume, "volume")
    same_length(h, lo, c, v)
    return _mfi_kernel((h + lo + c) / 3.0, v, check_period(period, minimum=2))


def session_starts(timestamps_ms: Any, session_ms: int = 86_400_000) -> npt.NDArray[np.bool_]:
    """True at the first bar of each session (UTC days by default) for an anchored VWAP."""
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    session = ts // session_ms
    starts = np.ones(len(ts), dtype=np.bool_)
    starts[1:] = session[1:] != session[:-1]
    return starts


def vwap(
    high: Any, low: Any, close: Any, volume: Any, starts: Any | None = None
) -> FloatArray:
    """Volume-weighted average typical price, cumulative since the last session start
    (`starts`, e.g. from `session_starts`; None = one session over the whole series).
    NaN while the session has traded no volume."""
    h, lo, c = as_series(high, "high"), as_series(low, "low"), as_series(close, "close")
    v = as_series(volume, "volume")
    n = same_length(h, lo, c, v)
    pv = np.cumsum((h + lo + c) / 3.0 * v)
    vol = np.cumsum(v)
    if starts is not None:
        flags = np.asarray(starts, dtype=np.bool_)
        if len(flags) != n:
            raise Invalid("starts must have one flag per bar", field="starts")
        # Subtract the running totals as they stood just before each session's first bar.
        first = np.maximum.accumulate(np.where(flags, np.arange(n), 0))
        base_pv = np.concatenate(([0.0], pv))[first]
        base_vol = np.concatenate(([0.0], vol))[first]
        pv, vol = pv - base_pv, vol - base_vol
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(vol > 0.0, pv / vol, np.nan)


class OBV:
    """Streaming on-balance volume."""

    __slots__ = ("_prev", "value")

    def __init__(self) -> None:
        self._prev: float | None = None
        self.value = 0.0

    def update(self, close: float, volume: float) -> float:
        if self._prev is None:
            self.value = volume
        elif close > self._prev:
            self.value += volume
        elif close < self._prev:
            self.value -= volume
        self._prev = close
        return self.value


class MFI:
    """Streaming Money Flow Index, O(1) with a ring of the last `period` flows."""

    __slots__ = ("_flows", "_neg", "_null_run", "_period", "_pos", "_prev", "_seen")

    def __init__(self, period: int = 14) -> None:
        self._period = check_period(period, minimum=2)
        self._flows: deque[tuple[float, float]] = deque()
        self._pos = 0.0
        self._neg = 0.0
        self._null_run = 0
        self._prev: float | None = None
        self._seen = 0

    def update(self, high: float, low: float, close: float, volume: float) -> float | None:
        tp = (high + low + close) / 3.0
        prev, self._prev = self._prev, tp
        if prev is None:
            return None
        if len(self._flows) == self._period:
            old_pos, old_neg = self._flows.popleft()
            self._pos -= old_pos
            self._neg -= old_neg
        diff = tp - prev
        flow = 0.0 if abs(diff) <= _EPSILON * (abs(tp) + abs(prev)) else tp * volume
        pos_flow, neg_flow = (0.0, flow) if diff < 0.0 else (flow, 0.0)
        self._flows.append((pos_flow, neg_flow))
        self._pos += pos_flow
        self._neg += neg_flow
        self._null_run = self._null_run + 1 if flow == 0.0 else 0
        if self._null_run >= self._period:
            self._null_run = self._period
            self._pos = self._neg = 0.0
        if len(self._flows) < self._period:
            return None
        total = self._pos + self._neg
        clamped = 0.0 if self._pos < 0.0 else min(self._pos, total)
        return 0.0 if total <= 0.0 else 100.0 * (clamped / total)


class VWAP:
    """Streaming anchored VWAP; pass `new_session=True` on a session's first bar."""

    __slots__ = ("_pv", "_volume")

    def __init__(self) -> None:
        self._pv = 0.0
        self._volume = 0.0

    def update(
        self, high: float, low: float, close: float, volume: float, new_session: bool = False
    ) -> float | None:
        if new_session:
            self._pv = self._volume = 0.0
        self._pv += (high + low + close) / 3.0 * volume
        self._volume += volume
        return self._pv / self._volume if self._volume > 0.0 else None
