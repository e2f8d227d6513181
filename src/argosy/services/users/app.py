"""Wiring of the users service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.users.settings import UsersSettings

__all__ = ["create_app"]

DESCRIPTION = "Identity, organisations, RBAC, accounts, credential vault, KYC (issue #4)."


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    spec = ServiceSpec(
        name="users",
        settings=load_settings(UsersSettings),
        description=DESCRIPTION,
        uses=frozenset({"db", "cache", "objects"}),
        migrations=Path(__file__).parent / "migrations",
    )
    return create_service_app(ServiceRuntime(spec, platform))
