"""Wiring of the notification service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.notification.settings import NotificationSettings

__all__ = ["create_app"]

DESCRIPTION = "Email, SMS, push, webhooks, Telegram and in-app messages (issue #9)."


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    spec = ServiceSpec(
        name="notification",
        settings=load_settings(NotificationSettings),
        description=DESCRIPTION,
        uses=frozenset({"db"}),
        migrations=Path(__file__).parent / "migrations",
    )
    return create_service_app(ServiceRuntime(spec, platform))
