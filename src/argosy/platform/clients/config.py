"""What a service asks of the config service: register schemas, list and fetch documents."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from argosy.contracts.v1.config import DocumentOut, DocumentRef
from argosy.kernel.errors import NotFound
from argosy.platform.clients.base import ServiceClient

__all__ = ["HttpConfigSource"]

_BASE = "/api/v1/config"


class HttpConfigSource:
    """`ConfigSource` (platform/runtime/live.py) over the config service's REST API."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def register(self, service: str, namespaces: list[dict[str, Any]]) -> None:
        await self._client.put_json(f"{_BASE}/schemas/{quote(service)}", {"namespaces": namespaces})

    async def list_documents(self, service: str) -> list[DocumentRef]:
        body = await self._client.get_json(f"{_BASE}/documents", params={"service": service})
        return [DocumentRef.model_validate(d) for d in body["items"]]

    async def fetch(self, service: str, namespace: str) -> DocumentOut | None:
        try:
            body = await self._client.get_json(
                f"{_BASE}/documents/{quote(service)}/{namespace}", params={"reveal": "true"}
            )
        except NotFound:
            return None
        return DocumentOut.model_validate(body)

    async def close(self) -> None:
        await self._client.close()
