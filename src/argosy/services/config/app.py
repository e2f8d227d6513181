"""Wiring of the config service (8088)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from argosy.contracts.v1.config import DocumentOut, DocumentRef, SchemaRegistration
from argosy.kernel.errors import NotFound
from argosy.platform.http.identity import identity_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.config import api
from argosy.services.config.codec import SecretCodec
from argosy.services.config.events import ConfigEvents
from argosy.services.config.keyring import KeyRing
from argosy.services.config.rotation import KeyRotation
from argosy.services.config.service import ConfigService
from argosy.services.config.settings import ConfigServiceSettings
from argosy.services.config.store import ConfigStore

__all__ = ["create_app"]

DESCRIPTION = """Versioned configuration documents per service and namespace, validated against
the owning service's published JSON schema, with full history, diffs, rollback, an audit
trail, encrypted secrets, and live push on `config.changed.<service>`."""


class _LocalSource:
    """The config service reads its own documents in-process instead of over HTTP."""

    def __init__(self, runtime: ServiceRuntime, svc: ConfigService) -> None:
        self._rt, self._svc = runtime, svc

    async def register(self, service: str, namespaces: list[dict[str, Any]]) -> None:
        reg = SchemaRegistration.model_validate({"namespaces": namespaces})
        await self._svc.register_schemas(self._rt.identity, service, reg)

    async def list_documents(self, service: str) -> list[DocumentRef]:
        return await self._svc.list_documents(self._rt.identity, service)

    async def fetch(self, service: str, namespace: str) -> DocumentOut | None:
        try:
            return await self._svc.get(self._rt.identity, service, namespace, reveal=True)
        except NotFound:
            return None


class _DeferredSource:
    """Lets the runtime be built before the service that backs its config source."""

    target: _LocalSource | None = None

    async def register(self, service: str, namespaces: list[dict[str, Any]]) -> None:
        assert self.target is not None
        await self.target.register(service, namespaces)

    async def list_documents(self, service: str) -> list[DocumentRef]:
        assert self.target is not None
        return await self.target.list_documents(service)

    async def fetch(self, service: str, namespace: str) -> DocumentOut | None:
        assert self.target is not None
        return await self.target.fetch(service, namespace)


def create_app(platform: PlatformSettings | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    settings = load_settings(ConfigServiceSettings)
    source = _DeferredSource()
    rt = ServiceRuntime(
        ServiceSpec(
            name="config", settings=settings, description=DESCRIPTION,
            migrations=Path(__file__).parent / "migrations",
        ),
        platform,
        config_source=source,
    )
    assert rt.db is not None
    assert rt.outbox is not None
    keyring = (
        KeyRing(settings.master_key_file, old_files=settings.old_key_files, managed=True)
        if settings.master_key_file
        else KeyRing.in_data_dir(rt.data_dir / "secrets")
    )
    store, codec = ConfigStore(), SecretCodec(keyring.box())
    svc = ConfigService(
        rt.db, store, codec, ConfigEvents(rt.outbox),
        max_document_bytes=settings.max_document_bytes,
    )
    keys = KeyRotation(rt.db, store, codec, keyring)
    source.target = _LocalSource(rt, svc)
    return create_service_app(rt, [api.router(svc, keys, identity_dependency(rt.auth))])
