"""Settings of the users service (env prefix ARGOSY_USERS_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["UsersSettings"]


class UsersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ARGOSY_USERS_", extra="ignore", frozen=True)
