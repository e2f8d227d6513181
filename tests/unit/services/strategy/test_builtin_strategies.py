"""Each built-in strategy does what its docstring says, on the real recordings, through
the event-driven backtester (fills at the next bar's open in bar mode)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import numpy as np
import pytest

from argosy.kernel.messages import Interval, Side
from argosy.kernel.orders import Liquidity
from argosy.services.strategy.backtest import BacktestResult, BacktestSpec, run_backtest
from argosy.services.strategy.domain import indicators as ind
from argosy.services.strategy.domain.builtins import (
    BollingerBreakout,
    EmaCrossover,
    Grid,
    MarketMaker,
    PairsSpread,
    RsiMeanReversion,
)
from argosy.services.strategy.domain.strategy import Strategy
from argosy.services.strategy.domain.vectorized import backtest_signals, crossover_signals
from tests.unit.services.strategy._backtests import feed_for, iid

D = Decimal
ETH_BTC = "ETH-BTC.bittrex"


@pytest.fixture(autouse=True)
def _data(shared_data: Path) -> Path:
    return shared_data


def _run(cls: type[Strategy], ids: tuple[str, ...], params: Mapping[str, object] | None = None,
         **kw: object) -> tuple[BacktestSpec, BacktestResult]:
    spec = BacktestSpec(cls, tuple(iid(i) for i in ids), params or {}, **kw)  # type: ignore[arg-type]
    result = run_backtest(spec, feed_for(spec))
    assert result.status == "completed", result.error
    return spec, result


def _signal_bars(spec: BacktestSpec, result: BacktestResult, side: Side) -> list[int]:
    """Index of the bar whose close decided each fill (the bar before the fill's open)."""
    opens = {b.ts_open_ns: n for n, b in enumerate(feed_for(spec).bars)}
    return [opens[f.ts_ns] - 1 for f in result.fills if f.side is side]


def _closes(spec: BacktestSpec) -> np.ndarray:
    return np.array([float(b.close.value) for b in feed_for(spec).bars])


def test_ema_crossover_equals_the_vectorized_ema_signals() -> None:
    spec, result = _run(EmaCrossover, (ETH_BTC,), interval=Interval.M5, cash=D(10))
    bars = feed_for(spec).bars
    opens = np.array([float(b.open.value) for b in bars])
    close = _closes(spec)
    entries, exits = crossover_signals(ind.ema(close, 12), ind.ema(close, 26))
    vector = backtest_signals(opens, close, entries, exits, cash=10.0)
    assert len(result.trips) == len(vector.trades) > 10
    assert float(result.final_equity) == pytest.approx(vector.final_equity, rel=1e-9)


def test_rsi_mean_reversion_buys_oversold_and_sells_overbought() -> None:
    spec, result = _run(RsiMeanReversion, (ETH_BTC,), interval=Interval.M5, cash=D(10))
    rsi = ind.rsi(_closes(spec), 14)
    buys, sells = _signal_bars(spec, result, Side.BUY), _signal_bars(spec, result, Side.SELL)
    assert len(buys) > 5
    assert all(rsi[n] < 30 for n in buys)
    assert all(rsi[n] > 70 for n in sells)
    assert result.signals
    assert result.signals[0][1] == f"rsi.{ETH_BTC}"


def test_bollinger_breakout_enters_above_the_band_and_exits_below_the_middle() -> None:
    spec, result = _run(BollingerBreakout, (ETH_BTC,), interval=Interval.M5, cash=D(10))
    close = _closes(spec)
    upper, middle, _ = ind.bollinger(close, 20, 2.0, 2.0)
    buys, sells = _signal_bars(spec, result, Side.BUY), _signal_bars(spec, result, Side.SELL)
    assert len(buys) > 5
    assert all(close[n] > upper[n] * (1 - 1e-12) for n in buys)
    assert all(close[n] < middle[n] * (1 + 1e-12) for n in sells)


def test_grid_answers_each_buy_one_step_higher() -> None:
    spec, result = _run(Grid, ("BTC-USDT.binance",),
                        {"levels": 5, "step_bps": 5.0, "quote_per_level": 1000.0},
                        mode="trade")
    tick = feed_for(spec).instruments[iid("BTC-USDT.binance")].tick_size.value
    buys = [f for f in result.fills if f.side is Side.BUY]
    sells = [f for f in result.fills if f.side is Side.SELL]
    assert buys
    assert sells
    assert all(f.liquidity is Liquidity.MAKER for f in result.fills)
    targets = {(f.price.value * D("1.0005")).quantize(tick, rounding=ROUND_CEILING)
               for f in buys}
    assert all(f.price.value in targets for f in sells)


def test_market_maker_quotes_both_sides_within_its_inventory() -> None:
    params = {"quantity": 0.01, "max_inventory": 0.03, "half_spread_bps": 1.0}
    _, result = _run(MarketMaker, ("BTC-USDT.binance",), params, mode="book")
    sides = {f.side for f in result.fills}
    assert sides == {Side.BUY, Side.SELL}
    assert all(f.liquidity is Liquidity.MAKER for f in result.fills)
    held = D(0)
    for f in result.fills:
        held += f.quantity.value if f.side is Side.BUY else -f.quantity.value
        assert D(0) <= held <= D("0.04")


def test_pairs_spread_opens_opposite_legs_on_a_wide_z() -> None:
    ids = ("ETH-BTC-PERP.bittrex", "LTC-BTC-PERP.bittrex")
    _, result = _run(PairsSpread, ids, {"notional": 1.0, "entry_z": 2.5},
                     interval=Interval.M5, cash=D(100))
    assert result.fills
    by_time: dict[int, list[Side]] = {}
    for f in result.fills:
        by_time.setdefault(f.ts_ns, []).append(f.side)
    assert all(sorted(sides) == [Side.BUY, Side.SELL] for sides in by_time.values())
    z = [value for _, name, value in result.signals if name == "pairs.z"]
    assert max(abs(v) for v in z) > 2.5
