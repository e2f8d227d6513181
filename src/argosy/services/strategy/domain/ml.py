"""ML classifiers over indicator features: labels, purged time-series cross-validation,
training, and the classifier strategy (vectorized signals and a per-bar predictor).

No look-ahead, by construction and by test:
- features at t come from bars <= t (domain/ml_features.py);
- the label at t is "close[t + horizon] beats close[t] by `threshold`"; the last `horizon`
  rows have no label and are never trained on;
- cross-validation is sklearn's TimeSeriesSplit with `gap = horizon` (purging): a
  training row's label window [t, t + horizon] always ends before the first test row, so
  no test-period price leaks into a training label; folds only ever train on the past.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sklearn.base import ClassifierMixin, clone  # type: ignore[import-untyped]
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import accuracy_score, log_loss, precision_score, roc_auc_score  # type: ignore[import-untyped]
from sklearn.model_selection import TimeSeriesSplit  # type: ignore[import-untyped]
from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from argosy.kernel.errors import Invalid
from argosy.services.strategy.domain.indicators._base import FloatArray
from argosy.services.strategy.domain.ml_features import FeaturePipeline
from argosy.services.strategy.domain.optimize import OHLCV
from argosy.services.strategy.domain.vectorized import BoolArray

__all__ = [
    "MODEL_KINDS",
    "BarPredictor",
    "MLSignal",
    "ModelSpec",
    "TrainedModel",
    "forward_labels",
    "purged_splits",
    "train_classifier",
]

ModelKind = Literal["logistic", "random_forest", "hist_gb", "lightgbm"]
MODEL_KINDS: tuple[str, ...] = ("logistic", "random_forest", "hist_gb", "lightgbm")


def _estimator(kind: str, seed: int, params: dict[str, Any]) -> ClassifierMixin:
    """Small, single-threaded defaults: training shares the cores with the optimizer."""
    if kind == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, **params))
    if kind == "random_forest":
        return RandomForestClassifier(**{"n_estimators": 100, "max_depth": 6, "n_jobs": 1,
                                         "random_state": seed, **params})
    if kind == "hist_gb":
        return HistGradientBoostingClassifier(**{"max_iter": 200, "learning_rate": 0.05,
                                                 "random_state": seed, **params})
    if kind == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(**{"n_estimators": 200, "learning_rate": 0.05,
                                 "num_leaves": 15, "n_jobs": 1, "random_state": seed,
                                 "verbose": -1, **params})
    raise Invalid(f"unknown model kind {kind!r}; known: {list(MODEL_KINDS)}", field="kind")


@dataclass(frozen=True)
class ModelSpec:
    kind: str = "lightgbm"
    features: tuple[str, ...] = ()
    horizon: int = 5  # bars ahead the label looks
    threshold: float = 0.0  # forward return that counts as "up"
    cv_splits: int = 5
    seed: int = 0
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise Invalid(f"unknown model kind {self.kind!r}; known: {list(MODEL_KINDS)}",
                          field="kind")
        if not 1 <= self.horizon <= 10_000:
            raise Invalid("horizon must be in [1, 10000] bars", field="horizon")
        if not 2 <= self.cv_splits <= 20:
            raise Invalid("cv_splits must be in [2, 20]", field="cv_splits")

    @property
    def pipeline(self) -> FeaturePipeline:
        return FeaturePipeline.of(self.features)


def forward_labels(close: FloatArray, horizon: int, threshold: float = 0.0) -> FloatArray:
    """1.0 if close[t + horizon] / close[t] - 1 > threshold else 0.0; NaN for the last
    `horizon` bars, whose future is not in the data."""
    c = np.asarray(close, dtype=np.float64)
    out = np.full(len(c), np.nan)
    if len(c) > horizon:
        out[:-horizon] = (c[horizon:] / c[:-horizon] - 1.0 > threshold).astype(np.float64)
    return out


def purged_splits(n_rows: int, splits: int, horizon: int) -> list[tuple[np.ndarray,
                                                                         np.ndarray]]:
    """Expanding-window folds with `horizon` rows purged between train and test."""
    if n_rows < (splits + 1) * (horizon + 2):
        raise Invalid(f"{n_rows} labelled rows are too few for {splits} folds", field="bars")
    return list(TimeSeriesSplit(n_splits=splits, gap=horizon).split(np.arange(n_rows)))


def _fold_metrics(y: FloatArray, proba: FloatArray) -> dict[str, float]:
    predicted = (proba >= 0.5).astype(np.float64)
    both = len(np.unique(y)) == 2
    return {
        "accuracy": float(accuracy_score(y, predicted)),
        "precision": float(precision_score(y, predicted, zero_division=0.0)),
        "auc": float(roc_auc_score(y, proba)) if both else math.nan,
        "log_loss": float(log_loss(y, np.clip(proba, 1e-12, 1 - 1e-12), labels=[0.0, 1.0])),
        "base_rate": float(y.mean()),
    }


@dataclass
class TrainedModel:
    spec: ModelSpec
    estimator: Any
    features: tuple[str, ...]
    cv: list[dict[str, float]]  # one per fold
    train_rows: int

    @property
    def metrics(self) -> dict[str, float]:
        """Mean of each CV metric over the folds (NaN-aware), plus the row count."""
        keys = self.cv[0].keys() if self.cv else []
        out = {k: float(np.nanmean([f[k] for f in self.cv])) for k in keys}
        out["train_rows"] = float(self.train_rows)
        return out

    def predict_proba(self, bars: OHLCV) -> FloatArray:
        """P(up) per bar; NaN where a feature is not yet defined."""
        x = FeaturePipeline(self.features).transform(bars)
        return self.proba_rows(x)

    def proba_rows(self, x: FloatArray) -> FloatArray:
        ok = np.isfinite(x).all(axis=1)
        out = np.full(len(x), np.nan)
        if ok.any():
            out[ok] = self.estimator.predict_proba(x[ok])[:, 1]
        return out


def train_classifier(bars: OHLCV, spec: ModelSpec) -> TrainedModel:
    """Cross-validate with purged time-series folds, then fit on every labelled row."""
    pipeline = spec.pipeline
    x = pipeline.transform(bars)
    y = forward_labels(bars.close, spec.horizon, spec.threshold)
    rows = np.flatnonzero(np.isfinite(x).all(axis=1) & np.isfinite(y))
    xs, ys = x[rows], y[rows]
    if len(np.unique(ys)) < 2:
        raise Invalid("the labels have a single class over this range", field="threshold")
    folds = []
    for train, test in purged_splits(len(rows), spec.cv_splits, spec.horizon):
        if len(np.unique(ys[train])) < 2:
            continue
        model = clone(_estimator(spec.kind, spec.seed, spec.params))
        model.fit(xs[train], ys[train])
        folds.append(_fold_metrics(ys[test], model.predict_proba(xs[test])[:, 1]))
    final = _estimator(spec.kind, spec.seed, spec.params)
    final.fit(xs, ys)
    return TrainedModel(spec, final, pipeline.names, folds, len(rows))


@dataclass(frozen=True)
class MLSignal:
    """The ML classifier strategy as a pure signal: long while P(up) > enter, flat once it
    falls below exit. Usable by the vectorized backtest (`signals`) and, bar by bar, by an
    event-driven engine or a live deployment (`predictor`)."""

    model: TrainedModel
    enter: float = 0.55
    exit: float = 0.45

    def __post_init__(self) -> None:
        if not 0.0 <= self.exit <= self.enter <= 1.0:
            raise Invalid("need 0 <= exit <= enter <= 1", field="enter")

    def signals(self, bars: OHLCV) -> tuple[BoolArray, BoolArray]:
        p = self.model.predict_proba(bars)
        with np.errstate(invalid="ignore"):
            return p > self.enter, p < self.exit

    def predictor(self) -> BarPredictor:
        return BarPredictor(self)


class BarPredictor:
    """One bar in, (P(up), signal) out, from a window of the last warmup + 1 bars: equal to
    the vectorized row for the same bar because every feature has finite memory."""

    def __init__(self, signal: MLSignal) -> None:
        self._signal = signal
        self._pipeline = FeaturePipeline(signal.model.features)
        size = self._pipeline.warmup + 1
        self._bars: tuple[deque[float], ...] = tuple(deque(maxlen=size) for _ in range(5))

    def update(self, open_: float, high: float, low: float, close: float,
               volume: float = math.nan) -> tuple[float, Literal["enter", "exit", "hold"]]:
        for column, value in zip(self._bars, (open_, high, low, close, volume), strict=True):
            column.append(float(value))
        window = OHLCV(*(np.fromiter(c, dtype=np.float64) for c in self._bars))
        p = float(self._signal.model.proba_rows(self._pipeline.transform(window)[-1:])[0])
        if p > self._signal.enter:
            return p, "enter"
        if p < self._signal.exit:
            return p, "exit"
        return p, "hold"
