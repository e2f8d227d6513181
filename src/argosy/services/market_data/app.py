"""Wiring of the market-data service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.market_data.settings import MarketDataSettings

__all__ = ["create_app"]

DESCRIPTION = "Exchange feeds, clean continuous history, queries and streams (issue #5)."


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    spec = ServiceSpec(
        name="market-data",
        settings=load_settings(MarketDataSettings),
        description=DESCRIPTION,
        uses=frozenset({"db", "cache", "tsdb"}),
        migrations=Path(__file__).parent / "migrations",
    )
    return create_service_app(ServiceRuntime(spec, platform))
