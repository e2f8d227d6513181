"""An in-memory config source for the live-config and runtime tests.

The real config service has its own suite; here only the three calls LiveConfig makes
matter, and a stand-in lets a test show stale reads and missed events on purpose.
"""

from __future__ import annotations

from typing import Any

from argosy.contracts.v1.config import DocumentOut, DocumentRef

__all__ = ["FakeConfigSource"]


class FakeConfigSource:
    def __init__(self) -> None:
        self.registered: dict[str, list[dict[str, Any]]] = {}
        self.docs: dict[tuple[str, str], DocumentOut] = {}
        self.fetches: list[str] = []
        self.fail: Exception | None = None

    def put(self, service: str, namespace: str, content: dict[str, Any], version: int) -> None:
        self.docs[(service, namespace)] = DocumentOut(
            service=service, namespace=namespace, version=version, content=content,
            author="test", updated_at="2024-01-01T00:00:00Z",
        )

    def delete(self, service: str, namespace: str) -> None:
        self.docs.pop((service, namespace), None)

    async def register(self, service: str, namespaces: list[dict[str, Any]]) -> None:
        if self.fail is not None:
            raise self.fail
        self.registered[service] = namespaces

    async def list_documents(self, service: str) -> list[DocumentRef]:
        if self.fail is not None:
            raise self.fail
        return [
            DocumentRef(service=d.service, namespace=d.namespace, version=d.version,
                        updated_at=d.updated_at)
            for (svc, _), d in sorted(self.docs.items()) if svc == service
        ]

    async def fetch(self, service: str, namespace: str) -> DocumentOut | None:
        self.fetches.append(namespace)
        return self.docs.get((service, namespace))
