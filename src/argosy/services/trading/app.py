"""Wiring of the trading service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.trading.settings import TradingSettings

__all__ = ["create_app"]

DESCRIPTION = "Orders, fills, positions and accounts; durable before anything leaves (issue #6)."


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    spec = ServiceSpec(
        name="trading",
        settings=load_settings(TradingSettings),
        description=DESCRIPTION,
        uses=frozenset({"db", "cache"}),
        migrations=Path(__file__).parent / "migrations",
    )
    return create_service_app(ServiceRuntime(spec, platform))
