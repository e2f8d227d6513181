"""Settings of the market-data service (env prefix ARGOSY_MARKET_DATA_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["MarketDataSettings"]


class MarketDataSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_MARKET_DATA_", extra="ignore", frozen=True)
