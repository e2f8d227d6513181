"""Wiring of the strategy service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.strategy.settings import StrategySettings

__all__ = ["create_app"]

DESCRIPTION = "Strategy plugins, backtests, optimisation and live deployments (issue #7)."


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    spec = ServiceSpec(
        name="strategy",
        settings=load_settings(StrategySettings),
        description=DESCRIPTION,
        uses=frozenset({"db", "objects"}),
        migrations=Path(__file__).parent / "migrations",
    )
    return create_service_app(ServiceRuntime(spec, platform))
