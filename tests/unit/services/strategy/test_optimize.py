"""Parameter spaces, the shared trial evaluation, and the pooled search on real klines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.optimize import (
    OHLCV,
    IndicatorCache,
    Param,
    best_of,
    evaluate,
    objective_value,
    signal_strategy,
)
from argosy.services.strategy.domain.vectorized import performance, sma_crossover
from argosy.services.strategy.optimizer import OptimizeRequest, pareto_front, run_optimization
from tests.unit.services.strategy._bars import Bars

PPY = 525_600.0


def ohlcv(b: Bars) -> OHLCV:
    return OHLCV(b.open, b.high, b.low, b.close, b.volume)


def test_param_grid_and_range_checks() -> None:
    assert Param("n", "int", 2, 10, 4).grid() == [2, 6, 10]
    assert Param("k", "float", 0.5, 1.5, 0.25).grid() == [0.5, 0.75, 1.0, 1.25, 1.5]
    assert Param("m", "choice", choices=("a", "b")).grid() == ["a", "b"]
    assert Param("n", "int", 2, 10).check(5) == 5
    with pytest.raises(Invalid) as err:
        Param("n", "int", 2, 10).check(11)
    assert err.value.field == "n"
    with pytest.raises(Invalid):
        Param("n", "int", 2, 10).check(2.5)
    with pytest.raises(Invalid):
        Param("n", "int", 10, 2)


def test_space_constraint_grid_sample_and_narrowing() -> None:
    space = signal_strategy("sma_crossover").space.narrowed(
        {"fast": {"low": 2, "high": 6}, "slow": {"low": 4, "high": 8}})
    grid = list(space.grid())
    assert all(p["fast"] < p["slow"] for p in grid)
    assert len(grid) == sum(1 for f in range(2, 7) for s in range(4, 9) if f < s)
    sample = space.sample(50, seed=3)
    assert sample == space.sample(50, seed=3)
    assert all(p["fast"] < p["slow"] and 2 <= p["fast"] <= 6 for p in sample)
    with pytest.raises(Invalid) as err:
        signal_strategy("sma_crossover").space.narrowed({"fast": {"low": 0, "high": 5}})
    assert err.value.field == "fast"
    with pytest.raises(Invalid):
        space.check({"fast": 6, "slow": 5})
    with pytest.raises(Invalid):
        signal_strategy("nope")


def test_evaluate_matches_the_vectorized_backtest(btc: Bars) -> None:
    metrics = evaluate(ohlcv(btc), signal_strategy("sma_crossover"), {"fast": 10, "slow": 30},
                       periods_per_year=PPY)
    direct = performance(sma_crossover(btc.open, btc.close, 10, 30), PPY).as_dict()
    assert metrics == pytest.approx(direct, nan_ok=True)
    assert metrics["trades"] > 100


def test_indicator_cache_changes_nothing_but_speed(btc: Bars) -> None:
    bars, cache = ohlcv(btc.head(5000)), IndicatorCache(max_items=4)
    strategy = signal_strategy("sma_crossover")
    for fast, slow in [(5, 20), (5, 30), (10, 30), (5, 20), (7, 40), (8, 50), (5, 20)]:
        plain = evaluate(bars, strategy, {"fast": fast, "slow": slow}, periods_per_year=PPY)
        cached = evaluate(bars, strategy, {"fast": fast, "slow": slow}, periods_per_year=PPY,
                          cache=cache)
        assert plain == pytest.approx(cached, nan_ok=True)
    assert cache.hits > 0
    assert len(cache._items) <= 4


@pytest.mark.parametrize("name", ["ema_crossover", "rsi_mean_reversion", "bollinger_breakout"])
def test_every_signal_strategy_trades_on_real_bars(btc: Bars, name: str) -> None:
    strategy = signal_strategy(name)
    metrics = evaluate(ohlcv(btc.head(20_000)), strategy, strategy.defaults,
                       periods_per_year=PPY)
    assert metrics["trades"] > 0


def test_objective_value_and_best() -> None:
    assert objective_value({"sharpe": math.nan}, "sharpe") < -1e8
    assert objective_value({"volatility": math.inf}, "volatility") > 1e8
    trials = [({"a": 1}, {"sharpe": 0.5}), ({"a": 2}, {"sharpe": 1.5}),
              ({"a": 3}, {"sharpe": math.nan})]
    assert best_of(trials, "sharpe")[0] == {"a": 2}
    with pytest.raises(Invalid):
        objective_value({"sharpe": 1.0}, "luck")


def test_pareto_front_keeps_only_non_dominated() -> None:
    from argosy.services.strategy.optimizer import TrialRecord

    records = [TrialRecord(i, {}, v, {}) for i, v in
               enumerate([(1.0, -0.5), (2.0, -0.6), (0.5, -0.7), (1.5, -0.2)])]
    front = pareto_front(records, ["sharpe", "max_drawdown"])
    assert [r.number for r in front] == [1, 3]


def test_pooled_grid_equals_serial_evaluation(btc: Bars) -> None:
    bars = ohlcv(btc.head(8000))
    req = OptimizeRequest("sma_crossover", "grid", ("sharpe",), n_trials=60, workers=2,
                          periods_per_year=PPY, chunk=4, keep_top=60,
                          space={"fast": {"low": 2, "high": 8}, "slow": {"low": 10, "high": 30}})
    result = run_optimization(req, bars)
    assert result.trials == 60
    assert result.workers == 2
    strategy = signal_strategy("sma_crossover")
    for record in result.top[:10]:
        serial = evaluate(bars, strategy, record.params, periods_per_year=PPY)
        assert record.metrics == pytest.approx(serial, nan_ok=True)
    values = [r.values[0] for r in result.top]
    assert values == sorted(values, reverse=True)
    assert result.best[0].values[0] == max(values)
    assert 0 < result.worker_peak_rss_kb < 400 * 1024  # numba + 64 MB cache + bars


def test_tpe_multi_objective_returns_a_pareto_front_and_walk_forward(btc: Bars) -> None:
    seen: list[tuple[int, int]] = []
    req = OptimizeRequest("sma_crossover", "tpe", ("sharpe", "max_drawdown"), n_trials=40,
                          workers=2, periods_per_year=PPY, chunk=2,
                          space={"fast": {"low": 2, "high": 30}, "slow": {"low": 10, "high": 120}},
                          walk_forward={"train": 6000, "test": 3000})
    result = run_optimization(req, ohlcv(btc.head(20_000)),
                              progress=lambda d, t: seen.append((d, t)))
    assert result.trials == 40
    assert seen[-1] == (40, 40)
    assert result.best
    assert all(r.params["fast"] < r.params["slow"] for r in result.best)
    assert result.walk_forward is not None
    assert len(result.walk_forward["windows"]) == 4
    assert np.isfinite(result.trials_per_s)


@pytest.mark.parametrize("fill_at", ["next_open", "close"])
@pytest.mark.parametrize("name", ["sma_crossover", "ema_crossover", "rsi_mean_reversion",
                                  "bollinger_breakout"])
def test_fast_kernel_equals_backtest_and_performance(bars: Bars, name: str,
                                                     fill_at: str) -> None:
    """Every recorded kline file, every signal strategy, both fill rules."""
    from argosy.services.strategy.domain.vectorized import FillRule

    strategy = signal_strategy(name)
    rule = FillRule(fee=0.001, slippage=0.0005, fill_at=fill_at)  # type: ignore[arg-type]
    data = ohlcv(bars)
    if name == "sma_crossover":
        params: dict[str, object] = {"fast": 3, "slow": 12}  # trades even on 100-bar files
    else:
        params = dict(strategy.defaults)
    slow = evaluate(data, strategy, params, rule=rule, periods_per_year=PPY)
    fast = evaluate(data, strategy, params, rule=rule, periods_per_year=PPY, fast=True)
    assert fast.keys() == slow.keys()
    for key in slow:
        assert fast[key] == pytest.approx(slow[key], rel=1e-9, abs=1e-12, nan_ok=True), key
