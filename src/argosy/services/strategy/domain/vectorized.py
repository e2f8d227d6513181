"""Vectorized backtest for pure-signal strategies: entries/exits -> positions -> fills ->
trades -> equity, in whole-array numpy with no compiled kernel, for screening many
parameter sets quickly. The event-driven engine stays the reference for anything with
state beyond "in or out" (stops, partial sizes, several instruments).

Fill rule (the one ../shared/bench-peers compares engines on): a signal is decided on bar
t's close and filled as a market order at bar t+1's open (`fill_at="next_open"`), or at
bar t's close (`"close"`, what NautilusTrader's bar execution gives). Long only, all-in:
quantity = cash / (price * (1 + fee)), fee = `fee` x notional on both sides, slippage
moves the price against the order. Equity is marked at each bar's close, with no exit fee
on an open position (as vectorbt's and backtrader's portfolio value).

Floats are right here: this is a screening estimate over recorded bars; orders and money
in the trading path are Decimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.indicators import sma
from argosy.services.strategy.domain.indicators._base import FloatArray, as_series, check_period
from argosy.services.strategy.domain.performance import Performance, summarize

__all__ = [
    "BacktestResult",
    "FillRule",
    "Trades",
    "backtest_signals",
    "crossover_signals",
    "performance",
    "positions_from_signals",
    "sma_crossover",
]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FillRule:
    fee: float = 0.001
    slippage: float = 0.0
    fill_at: Literal["next_open", "close"] = "next_open"

    def __post_init__(self) -> None:
        if not 0.0 <= self.fee < 1.0:
            raise Invalid(f"fee must be in [0, 1), got {self.fee}", field="fee")
        if not 0.0 <= self.slippage < 1.0:
            raise Invalid(f"slippage must be in [0, 1), got {self.slippage}", field="slippage")
        if self.fill_at not in ("next_open", "close"):
            raise Invalid("fill_at must be 'next_open' or 'close'", field="fill_at")


@dataclass(frozen=True)
class Trades:
    """One row per round trip; an open trade has exit_bar -1 and NaN exit price."""

    entry_bar: IntArray
    exit_bar: IntArray
    entry_price: FloatArray
    exit_price: FloatArray
    quantity: FloatArray
    fees: FloatArray
    pnl: FloatArray  # net of both fees; open trades marked at the last close, no exit fee
    returns: FloatArray  # pnl / cash committed at entry (incl. entry fee)

    def __len__(self) -> int:
        return len(self.entry_bar)


@dataclass(frozen=True)
class BacktestResult:
    equity: FloatArray  # marked at each bar's close
    in_market: BoolArray  # holding a position at the bar's close
    trades: Trades
    initial_cash: float

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if len(self.equity) else self.initial_cash

    @property
    def orders(self) -> int:
        """Fills: one per entry, one per exit."""
        return len(self.trades) + int((self.trades.exit_bar >= 0).sum())

    @property
    def fees_paid(self) -> float:
        return float(self.trades.fees.sum())

    @property
    def traded_notional(self) -> float:
        t = self.trades
        closed = t.exit_bar >= 0
        return float((t.quantity * t.entry_price).sum()
                     + (t.quantity[closed] * t.exit_price[closed]).sum())


def crossover_signals(fast: Any, slow: Any) -> tuple[BoolArray, BoolArray]:
    """(entries, exits): fast crosses above slow (`>` now, `<=` before), and below
    (`<` now, `>=` before). A comparison with NaN (warm-up) is no signal."""
    f, s = as_series(fast, "fast"), as_series(slow, "slow")
    entries = np.zeros(len(f), dtype=np.bool_)
    exits = np.zeros(len(f), dtype=np.bool_)
    with np.errstate(invalid="ignore"):
        entries[1:] = (f[1:] > s[1:]) & (f[:-1] <= s[:-1])
        exits[1:] = (f[1:] < s[1:]) & (f[:-1] >= s[:-1])
    return entries, exits


def positions_from_signals(entries: Any, exits: Any) -> BoolArray:
    """Long/flat state after each bar's close: the latest signal wins; a bar with both an
    entry and an exit changes nothing (the signal is ambiguous)."""
    enter = np.asarray(entries, dtype=np.bool_)
    leave = np.asarray(exits, dtype=np.bool_)
    if enter.shape != leave.shape or enter.ndim != 1:
        raise Invalid("entries and exits must be 1-D and of equal length", field="signals")
    signal = np.where(enter & ~leave, 1, np.where(leave & ~enter, 0, -1))
    index = np.arange(len(signal))
    last = np.maximum.accumulate(np.where(signal >= 0, index, -1))
    return np.where(last >= 0, signal[np.maximum(last, 0)] == 1, False)


def backtest_signals(
    open_: Any, close: Any, entries: Any, exits: Any, *, cash: float = 100_000.0,
    rule: FillRule | None = None,
) -> BacktestResult:
    """Simulate long/flat all-in trading on the signals under `rule` (see module doc)."""
    rule = rule or FillRule()
    o, c = as_series(open_, "open"), as_series(close, "close")
    if len(o) != len(c) or len(np.asarray(entries)) != len(c):
        raise Invalid("open, close and signals must have the same length", field="signals")
    if not cash > 0:
        raise Invalid(f"cash must be positive, got {cash}", field="cash")
    state = positions_from_signals(entries, exits)
    n = len(c)
    if rule.fill_at == "close":
        held, fill_price = state, c
    else:
        held = np.zeros(n, dtype=np.bool_)
        held[1:] = state[:-1]
        fill_price = o
    step = np.diff(held.astype(np.int8), prepend=np.int8(0))
    entry_bar = np.flatnonzero(step == 1)
    exit_bar = np.flatnonzero(step == -1)
    closed = len(exit_bar)
    fee = rule.fee
    buy = fill_price[entry_bar] * (1.0 + rule.slippage)
    sell = fill_price[exit_bar] * (1.0 - rule.slippage)
    growth = sell * (1.0 - fee) / (buy[:closed] * (1.0 + fee))
    cash_after = cash * np.concatenate(([1.0], np.cumprod(growth)))  # after each exit
    committed = cash_after[: len(entry_bar)]
    quantity = committed / (buy * (1.0 + fee))

    trade_id = np.maximum(np.cumsum(step == 1) - 1, 0)
    exits_so_far = np.cumsum(step == -1)
    marked = quantity[trade_id] * c if len(quantity) else np.zeros(n)
    equity = np.where(held, marked, cash_after[exits_so_far])

    count = len(entry_bar)
    exit_price = np.full(count, np.nan)
    exit_price[:closed] = sell
    exit_index = np.full(count, -1, dtype=np.int64)
    exit_index[:closed] = exit_bar
    fees = quantity * buy * fee
    fees[:closed] += quantity[:closed] * sell * fee
    value_out = np.empty(count)
    value_out[:closed] = cash_after[1:]
    value_out[closed:] = quantity[closed:] * c[-1] if n else 0.0  # the open trade, if any
    pnl = value_out - committed
    trades = Trades(entry_bar.astype(np.int64), exit_index, buy, exit_price, quantity, fees,
                    pnl, pnl / committed)
    return BacktestResult(equity.astype(np.float64), held, trades, float(cash))


def sma_crossover(
    open_: Any, close: Any, fast: int = 10, slow: int = 30, *, cash: float = 100_000.0,
    rule: FillRule | None = None,
) -> BacktestResult:
    """The SMA(fast)/SMA(slow) crossover, long only: the peer benchmarks' strategy."""
    check_period(fast, "fast")
    check_period(slow, "slow")
    c = as_series(close, "close")
    entries, exits = crossover_signals(sma(c, fast), sma(c, slow))
    return backtest_signals(open_, c, entries, exits, cash=cash, rule=rule)


def performance(result: BacktestResult, periods_per_year: float) -> Performance:
    """The metrics of a vectorized run (closed trades only for the per-trade ones)."""
    closed = result.trades.exit_bar >= 0
    return summarize(
        result.equity, initial=result.initial_cash, periods_per_year=periods_per_year,
        trade_returns=result.trades.returns[closed], in_market=result.in_market,
        traded_notional=result.traded_notional, fees_paid=result.fees_paid,
    )
