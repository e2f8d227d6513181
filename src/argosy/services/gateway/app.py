"""Wiring of the gateway service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.gateway.settings import GatewaySettings

__all__ = ["create_app"]

DESCRIPTION = (
    "Single entry point for clients: routing, authentication, rate limits and the "
    "WebSocket hub (issue #4)."
)


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    spec = ServiceSpec(
        name="gateway",
        settings=load_settings(GatewaySettings),
        description=DESCRIPTION,
        uses=frozenset({"db", "cache"}),
        migrations=Path(__file__).parent / "migrations",
    )
    return create_service_app(ServiceRuntime(spec, platform))
