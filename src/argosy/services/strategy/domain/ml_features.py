"""Feature pipelines from indicators, for the ML models.

Two rules, both tested:
- causal: row t uses bars <= t only (labels, which look ahead by design, are built apart
  in domain/ml.py and never enter the features);
- finite memory: every feature is a function of the last `warmup` bars, so a live strategy
  holding that many bars computes exactly the row the backtest computed. That is why RSI
  here is Cutler's (simple averages) and ATR a simple mean of the true range: Wilder's
  recursive smoothing depends on the whole history and would differ by start point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.indicators import bollinger, cci, sma, stochastic, true_range
from argosy.services.strategy.domain.indicators._base import FloatArray
from argosy.services.strategy.domain.optimize import OHLCV

__all__ = ["DEFAULT_FEATURES", "FEATURES", "FeaturePipeline"]


def _lag_return(c: FloatArray, k: int) -> FloatArray:
    out = np.full(len(c), np.nan)
    out[k:] = np.log(c[k:] / c[:-k])
    return out


def _rolling_std(x: FloatArray, n: int) -> FloatArray:
    out = np.full(len(x), np.nan)
    if len(x) >= n:
        out[n - 1:] = sliding_window_view(x, n).std(axis=1)
    return out


def _cutler_rsi(c: FloatArray, n: int = 14) -> FloatArray:
    diff = np.diff(c, prepend=np.nan)
    up, down = sma(np.where(diff > 0, diff, 0.0), n), sma(np.where(diff < 0, -diff, 0.0), n)
    up[: n] = np.nan  # the first diff is unknown, so the first full window ends at bar n
    with np.errstate(invalid="ignore", divide="ignore"):
        total = up + down
        return np.where(total > 0, up / total, 0.5)


def _volume_z(v: FloatArray, n: int = 20) -> FloatArray:
    lv = np.log1p(np.where(np.isfinite(v), v, np.nan))
    mean, sd = sma(lv, n), _rolling_std(lv, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sd > 0, (lv - mean) / sd, 0.0)


def _bb_pctb(c: FloatArray) -> FloatArray:
    upper, _, lower = bollinger(c, 20, 2.0, 2.0)
    width = upper - lower
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(width > 0, (c - lower) / width, 0.5)


Feature = Callable[[OHLCV], FloatArray]
#: name -> (function, warm-up bars: the first row that can be finite)
FEATURES: dict[str, tuple[Feature, int]] = {
    "ret_1": (lambda b: _lag_return(b.close, 1), 1),
    "ret_5": (lambda b: _lag_return(b.close, 5), 5),
    "ret_20": (lambda b: _lag_return(b.close, 20), 20),
    "vol_20": (lambda b: _rolling_std(_lag_return(b.close, 1), 20), 20),
    "sma_10_30": (lambda b: sma(b.close, 10) / sma(b.close, 30) - 1.0, 29),
    "close_sma_20": (lambda b: b.close / sma(b.close, 20) - 1.0, 19),
    "bb_pctb_20": (lambda b: _bb_pctb(b.close), 19),
    "rsi_14": (lambda b: _cutler_rsi(b.close, 14), 14),
    "stoch_k_14": (lambda b: stochastic(b.high, b.low, b.close, 14, 3, 3)[0] / 100.0, 17),
    "cci_20": (lambda b: cci(b.high, b.low, b.close, 20) / 100.0, 19),
    "range_hl": (lambda b: (b.high - b.low) / b.close, 0),
    "atr_14": (lambda b: sma(true_range(b.high, b.low, b.close), 14) / b.close, 14),
    "volume_z_20": (lambda b: _volume_z(b.volume, 20), 19),
}
DEFAULT_FEATURES = ("ret_1", "ret_5", "ret_20", "vol_20", "sma_10_30", "close_sma_20",
                    "bb_pctb_20", "rsi_14", "stoch_k_14", "cci_20", "range_hl", "atr_14")


@dataclass(frozen=True)
class FeaturePipeline:
    """Named features -> a (bars x features) float64 matrix, NaN where not yet defined."""

    names: tuple[str, ...] = DEFAULT_FEATURES

    def __post_init__(self) -> None:
        if not self.names:
            raise Invalid("at least one feature", field="features")
        unknown = [n for n in self.names if n not in FEATURES]
        if unknown:
            raise Invalid(f"unknown features {unknown}; known: {sorted(FEATURES)}",
                          field="features")

    @classmethod
    def of(cls, names: Sequence[str] | None) -> FeaturePipeline:
        return cls(tuple(names) if names else DEFAULT_FEATURES)

    @property
    def warmup(self) -> int:
        """Bars before the first row where every feature can be finite; a live predictor
        keeps warmup + 1 bars."""
        return max(FEATURES[n][1] for n in self.names)

    def transform(self, bars: OHLCV) -> FloatArray:
        columns = [np.asarray(FEATURES[n][0](bars), dtype=np.float64) for n in self.names]
        return np.column_stack(columns) if columns else np.empty((len(bars), 0))
