"""Settings of the strategy service (env prefix ARGOSY_STRATEGY_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["StrategySettings"]

_SHARED_DATA = Path(__file__).resolve().parents[4].parent / "shared" / "data"


class StrategySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_STRATEGY_", extra="ignore", frozen=True)

    # recorded market data backtests run on (laid out as ../shared/data, see MANIFEST.md)
    data_dir: Path = _SHARED_DATA
    # a directory of strategy plugins (*.py), reloaded on change; None = entry points only
    strategies_dir: Path | None = None
    watch_strategies: bool = True
    # worker processes running backtests: a strategy that crashes its process or spins
    # never takes the service down, and a run never blocks the API's event loop
    backtest_workers: int = Field(default=1, ge=1, le=64)
    # equity points returned by GET /backtests/{id} unless asked (the stored curve is full)
    equity_points: int = Field(default=2000, ge=10, le=1_000_000)
    # optimizer worker processes (None: every core) and the Optuna storage searches share
    # across machines (e.g. postgresql://db/argosy; None: each search keeps its own)
    optimizer_workers: int | None = Field(default=None, ge=1, le=256)
    optuna_storage: str | None = None
