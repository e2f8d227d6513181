"""Walk-forward analysis and an overfitting check for parameter searches.

Why: the best of many backtests over one history is biased upward; only performance on
bars the search never saw says anything. Two measures:

- walk-forward efficiency (WFE): mean out-of-sample metric / mean in-sample metric of the
  chosen parameters over rolling (or anchored) windows (Pardo). Below 0.5, or an OOS mean
  at or below zero while the IS mean is positive, raises the overfitting warning.
- probability of backtest overfitting (PBO), Bailey, Borwein, Lopez de Prado & Zhu (2015),
  by combinatorially symmetric cross-validation (CSCV): split the per-bar returns of all
  candidates into S blocks; for every half of the blocks taken as in-sample, find the best
  candidate and its relative rank out-of-sample; PBO is the share of splits where the IS
  winner lands at or below the OOS median. Above 0.5 also raises the warning.

An out-of-sample window's signals are computed over in-sample + out-of-sample bars (the
indicators are causal, so bar t only sees bars <= t) and the window is traded from flat.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.optimize import (
    OBJECTIVES,
    OHLCV,
    Params,
    SignalStrategy,
    best_of,
    evaluate,
    objective_value,
)
from argosy.services.strategy.domain.performance import returns_from_equity
from argosy.services.strategy.domain.vectorized import FillRule, backtest_signals, performance

__all__ = [
    "PBOResult",
    "WalkForwardReport",
    "Window",
    "candidate_returns",
    "finite_or_none",
    "probability_of_backtest_overfitting",
    "walk_forward",
    "windows",
]

Metrics = dict[str, float | int]
#: evaluate candidates over bars[start:stop]; the runner passes a parallel one
EvaluateMany = Callable[[int, int, Sequence[Params]], list[Metrics]]
WFE_WARNING = 0.5
PBO_WARNING = 0.5


@dataclass(frozen=True)
class Window:
    is_start: int
    is_stop: int  # exclusive; also the out-of-sample start
    oos_stop: int


def windows(n_bars: int, train: int, test: int, *, step: int | None = None,
            anchored: bool = False) -> list[Window]:
    """Consecutive IS/OOS windows; the OOS parts tile the history after the first IS."""
    if train < 2 or test < 2:
        raise Invalid("train and test must each be at least 2 bars", field="train")
    step = step or test
    if step < 1:
        raise Invalid("step must be positive", field="step")
    out = []
    start = 0
    while start + train + test <= n_bars:
        out.append(Window(0 if anchored else start, start + train, start + train + test))
        start += step
    if not out:
        raise Invalid(f"{n_bars} bars are fewer than one window of {train}+{test}",
                      field="train")
    return out


@dataclass(frozen=True)
class WindowResult:
    window: Window
    params: Params
    in_sample: Metrics
    out_of_sample: Metrics


@dataclass(frozen=True)
class PBOResult:
    pbo: float
    logits: list[float]
    splits: int
    candidates: int


@dataclass(frozen=True)
class WalkForwardReport:
    objective: str
    results: list[WindowResult]
    efficiency: float  # mean OOS / mean IS objective (NaN when the IS mean is not positive)
    is_mean: float
    oos_mean: float
    pbo: PBOResult | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def overfit(self) -> bool:
        return bool(self.warnings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective, "efficiency": finite_or_none(self.efficiency),
            "is_mean": finite_or_none(self.is_mean), "oos_mean": finite_or_none(self.oos_mean),
            "overfit": self.overfit, "warnings": self.warnings,
            "pbo": None if self.pbo is None else {
                "pbo": self.pbo.pbo, "splits": self.pbo.splits,
                "candidates": self.pbo.candidates},
            "windows": [{
                "is_start": r.window.is_start, "is_stop": r.window.is_stop,
                "oos_stop": r.window.oos_stop, "params": r.params,
                "in_sample": {k: finite_or_none(v) for k, v in r.in_sample.items()},
                "out_of_sample": {k: finite_or_none(v) for k, v in r.out_of_sample.items()},
            } for r in self.results],
        }


def finite_or_none(value: float | int) -> float | int | None:
    """JSON has no NaN: a missing metric is null."""
    return value if math.isfinite(value) else None


def _serial(bars: OHLCV, strategy: SignalStrategy, rule: FillRule | None,
            periods_per_year: float) -> EvaluateMany:
    def run(start: int, stop: int, candidates: Sequence[Params]) -> list[Metrics]:
        part = bars.slice(start, stop)
        return [evaluate(part, strategy, c, rule=rule, periods_per_year=periods_per_year)
                for c in candidates]
    return run


def _oos_metrics(bars: OHLCV, strategy: SignalStrategy, params: Params, w: Window,
                 rule: FillRule | None, periods_per_year: float) -> Metrics:
    span = bars.slice(w.is_start, w.oos_stop)
    entries, exits = strategy.signals(span, params, None)
    cut = w.is_stop - w.is_start
    result = backtest_signals(span.open[cut:], span.close[cut:], entries[cut:], exits[cut:],
                              rule=rule)
    return performance(result, periods_per_year).as_dict()


def walk_forward(
    bars: OHLCV, strategy: SignalStrategy, candidates: Sequence[Params], *, train: int,
    test: int, step: int | None = None, anchored: bool = False, objective: str = "sharpe",
    rule: FillRule | None = None, periods_per_year: float = 365 * 24 * 60,
    evaluate_many: EvaluateMany | None = None, pbo_candidates: int = 64, pbo_blocks: int = 8,
) -> WalkForwardReport:
    """Choose the best candidate on each IS window, score it on the OOS window after it."""
    if objective not in OBJECTIVES:
        raise Invalid(f"unknown objective {objective!r}", field="objective")
    if not candidates:
        raise Invalid("walk-forward needs at least one candidate", field="candidates")
    run = evaluate_many or _serial(bars, strategy, rule, periods_per_year)
    results = []
    for w in windows(len(bars), train, test, step=step, anchored=anchored):
        metrics = run(w.is_start, w.is_stop, candidates)
        params, best = best_of(list(zip(candidates, metrics, strict=True)), objective)
        oos = _oos_metrics(bars, strategy, params, w, rule, periods_per_year)
        results.append(WindowResult(w, dict(params), dict(best), oos))
    is_mean = float(np.mean([objective_value(r.in_sample, objective) for r in results]))
    oos_mean = float(np.mean([objective_value(r.out_of_sample, objective) for r in results]))
    efficiency = oos_mean / is_mean if is_mean > 0 else math.nan
    warnings = []
    if is_mean > 0 and oos_mean <= 0:
        warnings.append(f"out-of-sample mean {objective} {oos_mean:.3g} <= 0 while in-sample "
                        f"is {is_mean:.3g}: the chosen parameters do not generalise")
    elif math.isfinite(efficiency) and efficiency < WFE_WARNING:
        warnings.append(f"walk-forward efficiency {efficiency:.2f} < {WFE_WARNING}: "
                        f"out-of-sample {objective} degrades by {1 - efficiency:.0%}")
    pbo = None
    if len(candidates) >= 2 and pbo_candidates >= 2:
        step_by = max(1, len(candidates) // pbo_candidates)
        chosen = list(candidates)[::step_by][:pbo_candidates]
        matrix = candidate_returns(bars, strategy, chosen, rule=rule)
        if len(matrix) >= 2 * pbo_blocks:
            pbo = probability_of_backtest_overfitting(matrix, blocks=pbo_blocks)
            if pbo.pbo > PBO_WARNING:
                warnings.append(f"probability of backtest overfitting {pbo.pbo:.2f} > "
                                f"{PBO_WARNING} over {pbo.candidates} candidates")
    return WalkForwardReport(objective, results, efficiency, is_mean, oos_mean, pbo, warnings)


def candidate_returns(bars: OHLCV, strategy: SignalStrategy, candidates: Sequence[Params], *,
                      rule: FillRule | None = None) -> npt.NDArray[np.float64]:
    """Per-bar returns, one column per candidate (T x N), for CSCV."""
    out = np.empty((len(bars), len(candidates)))
    for j, params in enumerate(candidates):
        entries, exits = strategy.signals(bars, params, None)
        result = backtest_signals(bars.open, bars.close, entries, exits, rule=rule)
        out[:, j] = returns_from_equity(result.equity, result.initial_cash)
    return out


def _sharpe_columns(block: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    sd = block.std(axis=0, ddof=1)
    mean = block.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(sd > 0, mean / sd, -np.inf)
    return np.asarray(score, dtype=np.float64)


def probability_of_backtest_overfitting(returns: Any, *, blocks: int = 8) -> PBOResult:
    """CSCV over a T x N matrix of per-period returns (see the module docstring)."""
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise Invalid("PBO needs a T x N returns matrix with N >= 2", field="returns")
    if blocks < 2 or blocks % 2:
        raise Invalid("blocks must be an even number >= 2", field="blocks")
    if matrix.shape[0] < 2 * blocks:
        raise Invalid(f"{matrix.shape[0]} periods are too few for {blocks} blocks",
                      field="returns")
    parts = np.array_split(matrix, blocks)
    n = matrix.shape[1]
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        rest = [i for i in range(blocks) if i not in chosen]
        is_score = _sharpe_columns(np.concatenate([parts[i] for i in chosen]))
        oos_score = _sharpe_columns(np.concatenate([parts[i] for i in rest]))
        best = int(np.argmax(is_score))
        rank = float((oos_score < oos_score[best]).sum() + 1)  # 1..N, N is best OOS
        relative = rank / (n + 1)
        logits.append(math.log(relative / (1 - relative)))
    pbo = float(np.mean(np.asarray(logits) <= 0))
    return PBOResult(pbo, logits, len(logits), n)
