"""Performance metrics of a backtest or a live deployment, from its equity curve and its
trades.

Definitions follow quantstats (tests check them against it on the same returns), so a
number shown in Argosy means what a quant reading a quantstats tear sheet expects:
- returns are per bar; annualization uses `periods_per_year` bars (525,600 for 1m crypto,
  which trades every minute of the year);
- volatility and Sharpe use the sample standard deviation (ddof=1), risk-free rate 0;
- Sortino's downside deviation is sqrt(sum of squared negative returns / all bars);
- CAGR takes the number of years as bars / periods_per_year;
- max drawdown is measured from the starting capital (a loss on the first bar counts);
  its duration is the longest run of bars spent below a previous peak;
- win rate, profit factor and expectancy are per closed trade (quantstats' per-period
  formulas applied to trade returns); a trade returning exactly 0 is neither win nor loss.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.indicators._base import FloatArray, as_series

__all__ = [
    "MINUTES_PER_YEAR",
    "Performance",
    "cagr",
    "drawdown",
    "max_drawdown",
    "max_drawdown_duration",
    "profit_factor",
    "returns_from_equity",
    "sharpe",
    "sortino",
    "summarize",
    "total_return",
    "volatility",
    "win_rate",
]

MINUTES_PER_YEAR = 365 * 24 * 60


@dataclass(frozen=True)
class Performance:
    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float  # negative fraction, e.g. -0.25
    max_drawdown_bars: int
    trades: int
    win_rate: float
    profit_factor: float
    expectancy: float  # mean return per closed trade
    exposure: float  # fraction of bars holding a position
    turnover: float  # traded notional / initial capital
    fees_paid: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def returns_from_equity(equity: Any, initial: float) -> FloatArray:
    """Per-bar simple returns, the first one against the initial capital."""
    values = as_series(equity, "equity")
    if not initial > 0:
        raise Invalid(f"initial capital must be positive, got {initial}", field="initial")
    previous = np.concatenate(([initial], values[:-1]))
    return values / previous - 1.0


def total_return(returns: Any) -> float:
    return float(np.prod(1.0 + as_series(returns)) - 1.0)


def cagr(returns: Any, periods_per_year: float) -> float:
    r = as_series(returns)
    if not len(r):
        return 0.0
    wealth = 1.0 + total_return(r)
    return float(wealth ** (periods_per_year / len(r)) - 1.0) if wealth >= 0 else math.nan


def volatility(returns: Any, periods_per_year: float) -> float:
    r = as_series(returns)
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year)) if len(r) > 1 else 0.0


def sharpe(returns: Any, periods_per_year: float) -> float:
    r = as_series(returns)
    if len(r) < 2:
        return math.nan
    deviation = np.std(r, ddof=1)
    return float(np.mean(r) / deviation * math.sqrt(periods_per_year)) if deviation else math.nan


def sortino(returns: Any, periods_per_year: float) -> float:
    r = as_series(returns)
    if not len(r):
        return math.nan
    downside = math.sqrt(float(np.sum(np.minimum(r, 0.0) ** 2)) / len(r))
    return float(np.mean(r) / downside * math.sqrt(periods_per_year)) if downside else math.nan


def drawdown(returns: Any) -> FloatArray:
    """Fraction below the running peak of wealth at each bar (0 at a new high, < 0 below),
    the starting capital counting as the first peak."""
    wealth = np.cumprod(1.0 + as_series(returns))
    peak = np.maximum.accumulate(np.concatenate(([1.0], wealth)))[1:]
    return wealth / peak - 1.0


def max_drawdown(returns: Any) -> float:
    dd = drawdown(returns)
    return float(min(dd.min(), 0.0)) if len(dd) else 0.0


def max_drawdown_duration(returns: Any) -> int:
    """Longest run of consecutive bars under water (recovered or not)."""
    under = drawdown(returns) < 0.0
    if not under.any():
        return 0
    edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int((ends - starts).max())


def win_rate(trade_returns: Any) -> float:
    r = as_series(trade_returns, "trade_returns")
    decided = np.count_nonzero(r)
    return float(np.count_nonzero(r > 0) / decided) if decided else 0.0


def profit_factor(trade_returns: Any) -> float:
    """Gross gains / gross losses; inf with gains and no losses, 0 with neither."""
    r = as_series(trade_returns, "trade_returns")
    gains, losses = float(r[r >= 0].sum()), float(-r[r < 0].sum())
    if losses == 0.0:
        return math.inf if gains > 0 else 0.0
    return gains / losses


def summarize(
    equity: Any, *, initial: float, periods_per_year: float, trade_returns: Any,
    in_market: Any, traded_notional: float, fees_paid: float,
) -> Performance:
    """All metrics at once; `trade_returns` are of closed trades only."""
    returns = returns_from_equity(equity, initial)
    closed = as_series(trade_returns, "trade_returns")
    held = np.asarray(in_market, dtype=np.bool_)
    growth = cagr(returns, periods_per_year)
    worst = max_drawdown(returns)
    return Performance(
        total_return=total_return(returns),
        cagr=growth,
        volatility=volatility(returns, periods_per_year),
        sharpe=sharpe(returns, periods_per_year),
        sortino=sortino(returns, periods_per_year),
        calmar=growth / abs(worst) if worst else math.nan,
        max_drawdown=worst,
        max_drawdown_bars=max_drawdown_duration(returns),
        trades=len(closed),
        win_rate=win_rate(closed),
        profit_factor=profit_factor(closed),
        expectancy=float(closed.mean()) if len(closed) else 0.0,
        exposure=float(held.mean()) if len(held) else 0.0,
        turnover=traded_notional / initial,
        fees_paid=fees_paid,
    )
