"""Repository over the config service's tables; every method runs in the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.services.config.models import AuditRow, DocumentRow, SchemaRow, VersionRow

__all__ = ["ConfigStore"]


class ConfigStore:
    async def schemas(self, s: AsyncSession, service: str) -> Sequence[SchemaRow]:
        q = select(SchemaRow).where(SchemaRow.service == service).order_by(SchemaRow.namespace)
        return (await s.scalars(q)).all()

    async def registered_services(self, s: AsyncSession) -> list[str]:
        return list((await s.scalars(select(SchemaRow.service).distinct())).all())

    async def replace_schemas(self, s: AsyncSession, service: str, rows: list[SchemaRow]) -> None:
        await s.execute(delete(SchemaRow).where(SchemaRow.service == service))
        s.add_all(rows)

    async def document(
        self, s: AsyncSession, service: str, namespace: str, *, for_update: bool = False
    ) -> DocumentRow | None:
        q = select(DocumentRow).where(
            DocumentRow.service == service, DocumentRow.namespace == namespace
        )
        if for_update:
            q = q.with_for_update()
        return (await s.scalars(q)).first()

    async def documents(self, s: AsyncSession, service: str | None) -> Sequence[DocumentRow]:
        q = select(DocumentRow).order_by(DocumentRow.service, DocumentRow.namespace)
        if service is not None:
            q = q.where(DocumentRow.service == service)
        return (await s.scalars(q)).all()

    async def version(self, s: AsyncSession, document_id: int, version: int) -> VersionRow | None:
        q = select(VersionRow).where(
            VersionRow.document_id == document_id, VersionRow.version == version
        )
        return (await s.scalars(q)).first()

    async def versions(
        self, s: AsyncSession, document_id: int, *, limit: int, before: int | None
    ) -> Sequence[VersionRow]:
        q = select(VersionRow).where(VersionRow.document_id == document_id)
        if before is not None:
            q = q.where(VersionRow.version < before)
        return (await s.scalars(q.order_by(VersionRow.version.desc()).limit(limit))).all()

    async def audit(
        self,
        s: AsyncSession,
        *,
        service: str | None,
        namespace: str | None,
        limit: int,
        before: int | None,
    ) -> Sequence[AuditRow]:
        q = select(AuditRow)
        if service is not None:
            q = q.where(AuditRow.service == service)
        if namespace is not None:
            q = q.where(AuditRow.namespace == namespace)
        if before is not None:
            q = q.where(AuditRow.id < before)
        return (await s.scalars(q.order_by(AuditRow.id.desc()).limit(limit))).all()

    async def all_versions(
        self, s: AsyncSession, *, for_update: bool = False
    ) -> list[tuple[str, str, VersionRow]]:
        """Every stored version with its document's service and namespace."""
        q = (
            select(DocumentRow.service, DocumentRow.namespace, VersionRow)
            .join(VersionRow, VersionRow.document_id == DocumentRow.id)
            .order_by(VersionRow.id)
        )
        if for_update:
            q = q.with_for_update(of=VersionRow)
        return [(svc, ns, row) for svc, ns, row in (await s.execute(q)).all()]

    def add(self, s: AsyncSession, *rows: Any) -> None:
        s.add_all(rows)
