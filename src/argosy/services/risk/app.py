"""Wiring of the risk service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.risk.settings import RiskSettings

__all__ = ["create_app"]

DESCRIPTION = "Risk rules, real-time exposure, protection and reports (issue #8)."


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    spec = ServiceSpec(
        name="risk",
        settings=load_settings(RiskSettings),
        description=DESCRIPTION,
        uses=frozenset({"db", "objects"}),
        migrations=Path(__file__).parent / "migrations",
    )
    return create_service_app(ServiceRuntime(spec, platform))
