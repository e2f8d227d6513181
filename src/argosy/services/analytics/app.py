"""Wiring of the analytics service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.analytics.settings import AnalyticsSettings

__all__ = ["create_app"]

DESCRIPTION = "Performance analytics and reports."


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    spec = ServiceSpec(
        name="analytics",
        settings=load_settings(AnalyticsSettings),
        description=DESCRIPTION,
        uses=frozenset({"db", "tsdb", "objects"}),
        migrations=Path(__file__).parent / "migrations",
    )
    return create_service_app(ServiceRuntime(spec, platform))
