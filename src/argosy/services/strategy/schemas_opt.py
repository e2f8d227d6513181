"""Request bodies of the optimization and model APIs (responses are documented dicts)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from argosy.services.strategy.domain.vectorized import FillRule
from argosy.services.strategy.optimizer import OptimizeRequest

__all__ = ["ModelTrainRequest", "OptimizationRequest", "WalkForwardSpec"]

_DATASET = Field(min_length=1, max_length=255, examples=["ohlcv/ftx_perp_BTC-PERP_1m.csv"],
                 description="a kline CSV under the service's data directory")


class WalkForwardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train: int = Field(ge=2, description="in-sample bars per window")
    test: int = Field(ge=2, description="out-of-sample bars per window")
    step: int | None = Field(None, ge=1, description="bars between windows (default: test)")
    anchored: bool = False


class OptimizationRequest(BaseModel):
    """A pure-signal strategy, its parameter ranges, the search, and the bars."""

    model_config = ConfigDict(extra="forbid")

    strategy: str = Field(min_length=1, max_length=128, examples=["sma_crossover"])
    dataset: str = _DATASET
    start_ms: int | None = Field(None, ge=0, description="first bar open time, inclusive")
    end_ms: int | None = Field(None, ge=0, description="exclusive")
    method: Literal["grid", "random", "tpe", "nsga2"] = "tpe"
    objectives: list[str] = Field(default_factory=lambda: ["sharpe"], min_length=1,
                                  max_length=3, examples=[["sharpe", "max_drawdown"]])
    n_trials: int = Field(100, ge=1, le=100_000)
    seed: int = 0
    space: dict[str, dict[str, Any]] = Field(
        default_factory=dict, examples=[{"fast": {"low": 5, "high": 50}}],
        description="narrowed ranges, each inside the strategy's declared one")
    fee: float = Field(0.001, ge=0, lt=1)
    slippage: float = Field(0.0, ge=0, lt=1)
    fill_at: Literal["next_open", "close"] = "next_open"
    walk_forward: WalkForwardSpec | None = None
    keep_top: int = Field(20, ge=1, le=500)

    def to_request(self, periods_per_year: float, workers: int | None,
                   storage: str | None = None) -> OptimizeRequest:
        return OptimizeRequest(
            strategy=self.strategy, method=self.method, objectives=tuple(self.objectives),
            n_trials=self.n_trials, seed=self.seed, space=self.space,
            rule=FillRule(self.fee, self.slippage, self.fill_at),
            periods_per_year=periods_per_year, workers=workers, storage=storage,
            walk_forward=self.walk_forward.model_dump() if self.walk_forward else None,
            keep_top=self.keep_top,
        )


class ModelTrainRequest(BaseModel):
    """Train a classifier on a dataset range and register it as the next version."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_\-]*$",
                      examples=["btc-lgbm"])
    dataset: str = _DATASET
    start_ms: int | None = Field(None, ge=0)
    end_ms: int | None = Field(None, ge=0)
    kind: Literal["logistic", "random_forest", "hist_gb", "lightgbm"] = "lightgbm"
    features: list[str] = Field(default_factory=list, max_length=32,
                                description="feature names; empty = the default set")
    horizon: int = Field(5, ge=1, le=10_000, description="bars ahead the label looks")
    threshold: float = Field(0.0, ge=-1, le=1)
    cv_splits: int = Field(5, ge=2, le=20)
    seed: int = 0
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="estimator keyword arguments")
