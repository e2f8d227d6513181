"""Settings of the strategy service (env prefix ARGOSY_STRATEGY_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["StrategySettings"]


class StrategySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_STRATEGY_", extra="ignore", frozen=True)
