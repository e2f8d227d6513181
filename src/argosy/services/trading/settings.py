"""Settings of the trading service (env prefix ARGOSY_TRADING_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["TradingSettings"]


class TradingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_TRADING_", extra="ignore", frozen=True)
