"""The vectorized fast path: same fills, trades and equity as a plain bar-by-bar loop
written from the fill rule, and the peers' numbers on the peers' bars.

Peer figures (../shared/bench-peers/RESULTS.md, FTX BTC-PERP 1m, SMA 10/30, 0.1 % fee,
100k cash): backtrader and vectorbt fill at the next open -> 9374.42, 945 trades, 1890
orders; NautilusTrader fills at the signal bar's close -> 9368.34, same counts.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import talib

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain import indicators as ind
from argosy.services.strategy.domain.vectorized import (
    FillRule,
    backtest_signals,
    crossover_signals,
    positions_from_signals,
    sma_crossover,
)
from tests.unit.services.strategy._bars import Bars


def _reference(bars: Bars, fast: int, slow: int, fee: float, fill_at: str,
               slippage: float = 0.0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Bar-by-bar: decide on the close, fill at the next open (or this close). Signals from
    the same SMA values (see the tie test for why not TA-Lib's)."""
    f, s = ind.sma(bars.close, fast), ind.sma(bars.close, slow)
    cash, qty, pending = 100_000.0, 0.0, None
    equity = np.empty(len(bars))
    fills: list[tuple[int, int]] = []  # (bar, +1 buy / -1 sell)

    def fill(side: int, price: float, bar: int) -> None:
        nonlocal cash, qty
        if side > 0:
            price *= 1 + slippage
            qty = cash / (price * (1 + fee))
            cash = 0.0
        else:
            price *= 1 - slippage
            cash, qty = qty * price * (1 - fee), 0.0
        fills.append((bar, side))

    for t in range(len(bars)):
        if pending is not None:
            fill(pending, bars.open[t], t)
            pending = None
        side = None
        if t > 0 and qty == 0 and f[t] > s[t] and f[t - 1] <= s[t - 1]:
            side = 1
        elif t > 0 and qty > 0 and f[t] < s[t] and f[t - 1] >= s[t - 1]:
            side = -1
        if side is not None:
            if fill_at == "close":
                fill(side, bars.close[t], t)
            else:
                pending = side
        equity[t] = cash + qty * bars.close[t]
    return equity, fills


def _fills(result: object) -> list[tuple[int, int]]:
    t = result.trades  # type: ignore[attr-defined]
    out = [(int(b), 1) for b in t.entry_bar] + [(int(b), -1) for b in t.exit_bar if b >= 0]
    return sorted(out)


@pytest.mark.parametrize("fill_at", ["next_open", "close"])
@pytest.mark.parametrize(("fast", "slow"), [(10, 30), (3, 7)])
def test_equals_a_bar_by_bar_loop(bars: Bars, fast: int, slow: int, fill_at: str) -> None:
    rule = FillRule(fee=0.001, fill_at=fill_at)  # type: ignore[arg-type]
    result = sma_crossover(bars.open, bars.close, fast, slow, rule=rule)
    equity, fills = _reference(bars, fast, slow, 0.001, fill_at)
    assert _fills(result) == fills
    np.testing.assert_allclose(result.equity, equity, rtol=1e-9)
    assert result.orders == len(fills)


@pytest.mark.parametrize(("fast", "slow"), [(10, 30), (3, 7)])
def test_signals_differ_from_talib_smas_only_at_float_ties(bars: Bars, fast: int,
                                                            slow: int) -> None:
    """SMAs of equal true value (flat or coarsely quoted prices) can come out an ulp apart
    depending on summation order: TA-Lib keeps a running total, ours sums each window.
    Crossings may then differ, but only at such ties, never on a real cross."""
    ours = crossover_signals(ind.sma(bars.close, fast), ind.sma(bars.close, slow))
    f, s = talib.SMA(bars.close, fast), talib.SMA(bars.close, slow)
    theirs = crossover_signals(f, s)
    with np.errstate(invalid="ignore"):
        tie = np.abs(f - s) <= 1e-9 * np.abs(s)
    near_tie = tie | np.concatenate(([False], tie[:-1]))
    for mine, other in zip(ours, theirs, strict=True):
        assert not (mine != other)[~near_tie].any()


def test_slippage_moves_fills_against_the_order(btc: Bars) -> None:
    bars = btc.head(5000)
    rule = FillRule(fee=0.0005, slippage=0.0002)
    result = sma_crossover(bars.open, bars.close, 10, 30, rule=rule)
    equity, fills = _reference(bars, 10, 30, 0.0005, "next_open", slippage=0.0002)
    assert _fills(result) == fills
    np.testing.assert_allclose(result.equity, equity, rtol=1e-9)
    entries = result.trades.entry_bar
    np.testing.assert_allclose(result.trades.entry_price, bars.open[entries] * 1.0002)


def test_matches_the_peers_on_btc_perp(btc: Bars) -> None:
    result = sma_crossover(btc.open, btc.close, 10, 30)
    assert result.final_equity == pytest.approx(9374.42, abs=0.005)
    assert (len(result.trades), result.orders) == (945, 1890)
    at_close = sma_crossover(btc.open, btc.close, 10, 30, rule=FillRule(fill_at="close"))
    assert at_close.final_equity == pytest.approx(9368.34, abs=0.005)
    assert (len(at_close.trades), at_close.orders) == (945, 1890)
    closed = result.trades.exit_bar >= 0
    assert result.trades.pnl.sum() == pytest.approx(result.final_equity - 100_000, rel=1e-9)
    assert (result.trades.exit_bar[closed] > result.trades.entry_bar[closed]).all()


def test_open_trade_is_marked_at_the_last_close(btc: Bars) -> None:
    bars = btc.head(4000)
    result = sma_crossover(bars.open, bars.close, 10, 30)
    trades = result.trades
    if trades.exit_bar[-1] != -1:  # cut the series inside the last trade
        bars = btc.head(int(trades.exit_bar[-1]))
        result = sma_crossover(bars.open, bars.close, 10, 30)
        trades = result.trades
    assert trades.exit_bar[-1] == -1
    assert np.isnan(trades.exit_price[-1])
    assert result.final_equity == pytest.approx(trades.quantity[-1] * bars.close[-1])
    assert result.orders == 2 * len(trades) - 1


def test_signal_rules() -> None:
    entries, exits = crossover_signals([1.0, 2.0, 2.0, 3.0, 1.0], [2.0, 2.0, 2.0, 2.0, 2.0])
    assert entries.tolist() == [False, False, False, True, False]  # equal is not above
    assert exits.tolist() == [False, False, False, False, True]
    state = positions_from_signals([False, True, True, False, True],
                                   [True, False, True, True, False])
    assert state.tolist() == [False, True, True, False, True]  # both at once: no change
    none = backtest_signals([1.0, 1.0], [1.0, 1.0], [False, True], [False, False])
    assert len(none.trades) == 0
    assert none.final_equity == 100_000.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: FillRule(fee=-0.1),
        lambda: FillRule(slippage=1.0),
        lambda: FillRule(fill_at="later"),  # type: ignore[arg-type]
        lambda: sma_crossover([1.0, 2.0], [1.0, 2.0], 0, 3),
        lambda: backtest_signals([1.0], [1.0, 2.0], [False, True], [False, False]),
        lambda: backtest_signals([1.0], [1.0], [True], [False], cash=0.0),
        lambda: positions_from_signals([True], [True, False]),
    ],
)
def test_bad_input_is_invalid(call: object) -> None:
    with pytest.raises(Invalid):
        call()  # type: ignore[operator]


def test_the_fast_path_compiles_nothing() -> None:
    """Screening pays no JIT: a fresh interpreter runs the crossover without numba."""
    code = (
        "import sys, numpy as np\n"
        "from argosy.services.strategy.domain.vectorized import sma_crossover\n"
        "x = np.linspace(1.0, 2.0, 500) + np.sin(np.arange(500) / 7.0)\n"
        "r = sma_crossover(x, x, 10, 30)\n"
        "assert len(r.trades) > 0\n"
        "print('numba' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "False"
