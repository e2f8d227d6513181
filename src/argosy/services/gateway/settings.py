"""Settings of the gateway service (env prefix ARGOSY_GATEWAY_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["GatewaySettings"]


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_GATEWAY_", extra="ignore", frozen=True)
