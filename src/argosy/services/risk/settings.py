"""Settings of the risk service (env prefix ARGOSY_RISK_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["RiskSettings"]


class RiskSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_RISK_", extra="ignore", frozen=True)
