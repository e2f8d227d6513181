"""Walk-forward windows, out-of-sample isolation, and the PBO overfitting measure."""

from __future__ import annotations

import numpy as np
import pytest

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.optimize import OHLCV, signal_strategy
from argosy.services.strategy.domain.walkforward import (
    candidate_returns,
    probability_of_backtest_overfitting,
    walk_forward,
    windows,
)
from tests.unit.services.strategy._bars import Bars

PPY = 525_600.0
CANDIDATES = [{"fast": f, "slow": s} for f in (5, 10, 20) for s in (30, 60, 120)]


def ohlcv(b: Bars) -> OHLCV:
    return OHLCV(b.open.copy(), b.high.copy(), b.low.copy(), b.close.copy(), b.volume.copy())


def test_windows_roll_and_anchor() -> None:
    rolled = windows(100, 40, 20)
    assert [(w.is_start, w.is_stop, w.oos_stop) for w in rolled] == [(0, 40, 60), (20, 60, 80),
                                                                     (40, 80, 100)]
    anchored = windows(100, 40, 20, anchored=True)
    assert {w.is_start for w in anchored} == {0}
    with pytest.raises(Invalid):
        windows(50, 40, 20)


def test_walk_forward_picks_in_sample_and_scores_out_of_sample(btc: Bars) -> None:
    bars = ohlcv(btc.head(24_000))
    report = walk_forward(bars, signal_strategy("sma_crossover"), CANDIDATES, train=8000,
                          test=4000, periods_per_year=PPY)
    assert len(report.results) == 4
    for r in report.results:
        assert r.params in CANDIDATES
        assert r.out_of_sample["trades"] >= 0
    body = report.as_dict()
    assert body["pbo"]["splits"] == 70
    assert isinstance(body["overfit"], bool)
    # 1-minute crossovers lose to fees on this data: the report must say so
    if report.is_mean > 0 >= report.oos_mean:
        assert report.overfit


def test_out_of_sample_never_sees_later_bars(btc: Bars) -> None:
    """Scrambling every bar after window k's end leaves windows 0..k unchanged."""
    bars = ohlcv(btc.head(24_000))
    strategy = signal_strategy("sma_crossover")
    before = walk_forward(bars, strategy, CANDIDATES, train=8000, test=4000,
                          periods_per_year=PPY, pbo_candidates=0)
    cut = before.results[1].window.oos_stop
    scrambled = ohlcv(btc.head(24_000))
    for column in (scrambled.open, scrambled.high, scrambled.low, scrambled.close):
        column[cut:] = column[cut:][::-1]
    after = walk_forward(scrambled, strategy, CANDIDATES, train=8000, test=4000,
                         periods_per_year=PPY, pbo_candidates=0)
    for a, b in zip(before.results[:2], after.results[:2], strict=True):
        assert a.params == b.params
        assert a.out_of_sample == pytest.approx(b.out_of_sample, nan_ok=True)
    assert before.results[3].out_of_sample != after.results[3].out_of_sample


def test_pbo_is_zero_when_one_candidate_wins_everywhere(btc: Bars) -> None:
    matrix = candidate_returns(ohlcv(btc.head(16_000)), signal_strategy("sma_crossover"),
                               CANDIDATES)
    dominant = matrix[:, :1] + 0.01  # the same path plus a steady edge: best in every block
    result = probability_of_backtest_overfitting(np.hstack([matrix, dominant]), blocks=8)
    assert result.pbo == 0.0
    assert result.splits == 70
    plain = probability_of_backtest_overfitting(matrix, blocks=8)
    assert 0.0 <= plain.pbo <= 1.0


def test_pbo_rejects_bad_shapes() -> None:
    with pytest.raises(Invalid):
        probability_of_backtest_overfitting(np.zeros((100, 1)))
    with pytest.raises(Invalid):
        probability_of_backtest_overfitting(np.zeros((100, 3)), blocks=5)
