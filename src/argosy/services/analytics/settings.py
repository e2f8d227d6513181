"""Settings of the analytics service (env prefix ARGOSY_ANALYTICS_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["AnalyticsSettings"]


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_ANALYTICS_", extra="ignore", frozen=True)
