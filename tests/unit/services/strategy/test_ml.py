"""ML features, labels, purged CV and the classifier strategy on real klines; above all,
that nothing at bar t depends on bars after t."""

from __future__ import annotations

import numpy as np
import pytest

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.ml import (
    MLSignal,
    ModelSpec,
    forward_labels,
    purged_splits,
    train_classifier,
)
from argosy.services.strategy.domain.ml_features import FEATURES, FeaturePipeline
from argosy.services.strategy.domain.optimize import OHLCV
from argosy.services.strategy.domain.vectorized import backtest_signals
from tests.unit.services.strategy._bars import Bars


def ohlcv(b: Bars, n: int | None = None) -> OHLCV:
    b = b.head(n) if n else b
    return OHLCV(b.open.copy(), b.high.copy(), b.low.copy(), b.close.copy(), b.volume.copy())


def scramble_after(bars: OHLCV, t: int) -> OHLCV:
    """The same bars up to t, then the rest in reverse order: a different future."""
    out = OHLCV(*(c.copy() for c in (bars.open, bars.high, bars.low, bars.close, bars.volume)))
    for column in (out.open, out.high, out.low, out.close, out.volume):
        column[t + 1:] = column[t + 1:][::-1] * 1.07
    return out


@pytest.fixture(scope="module")
def model(request: pytest.FixtureRequest) -> object:
    from tests.unit.services.strategy._bars import OHLCV_DIR, load_bars

    btc = load_bars(OHLCV_DIR / "ftx_perp_BTC-PERP_1m.csv")
    return train_classifier(ohlcv(btc, 12_000), ModelSpec("lightgbm", horizon=5, cv_splits=4,
                                                          params={"n_estimators": 50}))


def test_labels_look_ahead_only_by_the_horizon() -> None:
    close = np.array([10.0, 11.0, 10.5, 12.0, 12.0])
    y = forward_labels(close, 2)
    assert y[:3].tolist() == [1.0, 1.0, 1.0]
    assert np.isnan(y[3:]).all()
    assert forward_labels(close, 1, threshold=0.01)[:4].tolist() == [1.0, 0.0, 1.0, 0.0]


def test_purged_folds_keep_the_label_window_out_of_test() -> None:
    for train, test in purged_splits(5000, 5, horizon=7):
        assert train.max() + 7 < test.min()
        assert train.min() == 0
    with pytest.raises(Invalid):
        purged_splits(20, 5, horizon=7)


def test_features_at_t_ignore_every_later_bar(btc: Bars) -> None:
    bars = ohlcv(btc, 6000)
    pipeline = FeaturePipeline(tuple(FEATURES))
    before = pipeline.transform(bars)
    for t in (100, 2500, 5000):
        after = pipeline.transform(scramble_after(bars, t))
        np.testing.assert_array_equal(before[: t + 1], after[: t + 1])
        assert not np.array_equal(before[t + 1:], after[t + 1:], equal_nan=True)
    assert np.isfinite(before[pipeline.warmup:]).all()
    assert not np.isfinite(before[pipeline.warmup - 1]).all()


def test_predictions_at_t_ignore_every_later_bar(btc: Bars, model: object) -> None:
    bars = ohlcv(btc, 16_000)
    p = model.predict_proba(bars)  # type: ignore[attr-defined]
    for t in (12_500, 14_000):
        q = model.predict_proba(scramble_after(bars, t))  # type: ignore[attr-defined]
        np.testing.assert_array_equal(p[: t + 1], q[: t + 1])


def test_training_uses_only_labelled_rows_and_reports_cv(model: object) -> None:
    trained = model
    pipeline = FeaturePipeline(trained.features)  # type: ignore[attr-defined]
    assert trained.train_rows == 12_000 - pipeline.warmup - 5  # type: ignore[attr-defined]
    assert len(trained.cv) == 4  # type: ignore[attr-defined]
    metrics = trained.metrics  # type: ignore[attr-defined]
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert 0.0 <= metrics["auc"] <= 1.0
    assert metrics["log_loss"] > 0


@pytest.mark.parametrize("kind", ["logistic", "hist_gb", "random_forest"])
def test_sklearn_models_train_on_real_bars(btc: Bars, kind: str) -> None:
    trained = train_classifier(ohlcv(btc, 6000), ModelSpec(kind, horizon=3, cv_splits=3,
                                                           params={} if kind == "logistic"
                                                           else {"max_depth": 3}))
    assert len(trained.cv) == 3
    p = trained.predict_proba(ohlcv(btc, 6000))
    assert np.nanmin(p) >= 0.0
    assert np.nanmax(p) <= 1.0


def test_per_bar_predictor_equals_the_vectorized_path(btc: Bars, model: object) -> None:
    bars = ohlcv(btc, 13_000)
    signal = MLSignal(model, enter=0.52, exit=0.48)  # type: ignore[arg-type]
    batch = model.predict_proba(bars)  # type: ignore[attr-defined]
    live = signal.predictor()
    start = 12_000
    entries, exits = signal.signals(bars)
    for t in range(start - 200, 13_000):
        p, action = live.update(bars.open[t], bars.high[t], bars.low[t], bars.close[t],
                                bars.volume[t])
        if t < start:
            continue
        assert p == pytest.approx(batch[t], abs=1e-12)
        assert action == ("enter" if entries[t] else "exit" if exits[t] else "hold")


def test_ml_signal_backtests_on_the_vectorized_path(btc: Bars, model: object) -> None:
    bars = ohlcv(btc, 20_000).slice(12_000, 20_000)  # out of the training range
    entries, exits = MLSignal(model, enter=0.52, exit=0.5).signals(bars)  # type: ignore[arg-type]
    result = backtest_signals(bars.open, bars.close, entries, exits)
    assert len(result.equity) == len(bars)
    assert result.orders > 0
    with pytest.raises(Invalid):
        MLSignal(model, enter=0.4, exit=0.6)  # type: ignore[arg-type]
