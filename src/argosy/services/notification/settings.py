"""Settings of the notification service (env prefix ARGOSY_NOTIFICATION_)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from argosy.platform.settings import ServiceSettings

__all__ = ["NotificationSettings"]


class NotificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARGOSY_NOTIFICATION_", extra="ignore", frozen=True
    )
