"""Config use-cases. Each write is one transaction: version row, document head, audit entry
and the `config.changed.<service>` outbox event commit together or not at all."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import structlog
from sqlalchemy.exc import IntegrityError

from argosy.contracts.services import service_info
from argosy.contracts.v1.config import (
    MASK,
    AuditEntry,
    ConfigChanged,
    DocumentOut,
    DocumentRef,
    DocumentWrite,
    RollbackRequest,
    SchemaRegistration,
    VersionOut,
    valid_namespace,
)
from argosy.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from argosy.platform.auth.internal import Principal
from argosy.platform.db.engine import Database
from argosy.services.config.codec import SecretCodec
from argosy.services.config.domain.namespaces import best_pattern
from argosy.services.config.domain.secrets import mask, secret_pointers
from argosy.services.config.events import ConfigEvents
from argosy.services.config.models import AuditRow, DocumentRow, SchemaRow, VersionRow
from argosy.services.config.store import ConfigStore
from argosy.services.config.validation import check_schema, diff, validate_document

__all__ = ["ConfigService", "iso"]

log = structlog.get_logger("argosy.config")

_T = TypeVar("_T")


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="milliseconds")


def _request_id() -> str | None:
    rid = structlog.contextvars.get_contextvars().get("request_id")
    return str(rid) if rid else None


class ConfigService:
    def __init__(
        self, db: Database, store: ConfigStore, codec: SecretCodec, events: ConfigEvents,
        *, max_document_bytes: int = 262_144,
    ) -> None:
        self._db, self._store, self._codec, self._events = db, store, codec, events
        self._max_bytes = max_document_bytes

    # -- authorization -----------------------------------------------------------------
    @staticmethod
    def _service_name(service: str) -> str:
        try:
            return service_info(service).name
        except KeyError as exc:
            raise NotFound(str(exc).strip("'\""), field="service") from None

    @staticmethod
    def _may_read(p: Principal, service: str) -> None:
        if p.kind == "service" and p.service != service:
            raise Forbidden(f"{p.subject} may only read its own configuration")
        p.require("config:read")

    @staticmethod
    def _may_write(p: Principal, service: str) -> None:
        if p.kind == "service":
            if p.service != service:
                raise Forbidden(f"{p.subject} may only write its own configuration")
            return
        p.require("config:write")

    # -- schemas -------------------------------------------------------------------------
    async def register_schemas(
        self, p: Principal, service: str, reg: SchemaRegistration
    ) -> dict[str, Any]:
        service = self._service_name(service)
        if not (p.service == service and p.allows("config:register")) and not p.allows(
            "config:admin"
        ):
            raise Forbidden(f"{p.subject} may not register schemas of {service}")
        seen: set[str] = set()
        for i, ns in enumerate(reg.namespaces):
            if ns.namespace in seen:
                raise Invalid(f"duplicate namespace {ns.namespace!r}",
                              field=f"namespaces.{i}.namespace")
            seen.add(ns.namespace)
            check_schema(ns.json_schema, f"namespaces.{i}.schema")
        return await _retry_race(lambda: self._register(p, service, reg))

    async def _register(
        self, p: Principal, service: str, reg: SchemaRegistration
    ) -> dict[str, Any]:
        now = time.time_ns()
        rows = [
            SchemaRow(service=service, namespace=ns.namespace, json_schema=ns.json_schema,
                      description=ns.description, digest=_digest(ns.json_schema),
                      registered_by=p.subject, registered_ns=now)
            for ns in reg.namespaces
        ]
        async with self._db.transaction() as s:
            old = {r.namespace: (r.digest, r.description)
                   for r in await self._store.schemas(s, service)}
            new = {r.namespace: (r.digest, r.description) for r in rows}
            if old == new:
                return {"service": service, "changed": False, "invalid_documents": []}
            await self._store.replace_schemas(s, service, rows)
            self._audit(s, p, "schemas.registered", service, None, None,
                        {"namespaces": sorted(new), "previous": sorted(old)})
            invalid = await self._revalidate(s, service, rows)
        log.info("config.schemas_registered", service=service, namespaces=sorted(new))
        return {"service": service, "changed": True, "invalid_documents": invalid}

    async def _revalidate(self, s: Any, service: str, rows: list[SchemaRow]) -> list[str]:
        by_ns = {r.namespace: r for r in rows}
        bad = []
        for doc in await self._store.documents(s, service):
            pattern = best_pattern(by_ns, doc.namespace)
            if doc.deleted or pattern is None:
                continue
            try:
                validate_document(by_ns[pattern].json_schema, await self._plain(s, doc, by_ns))
            except Invalid as exc:
                bad.append(doc.namespace)
                log.warning("config.document_invalid_under_new_schema", service=service,
                            namespace=doc.namespace, error=exc.message)
        return bad

    async def schemas(self, p: Principal, service: str) -> list[dict[str, Any]]:
        service = self._service_name(service)
        self._may_read(p, service)
        async with self._db.read() as s:
            rows = await self._store.schemas(s, service)
        return [{"namespace": r.namespace, "schema": r.json_schema, "description": r.description,
                 "registered_by": r.registered_by, "registered_at": iso(r.registered_ns)}
                for r in rows]

    async def services(self, p: Principal) -> list[str]:
        p.require("config:read")
        async with self._db.read() as s:
            return sorted(await self._store.registered_services(s))

    # -- documents -----------------------------------------------------------------------
    async def list_documents(self, p: Principal, service: str | None) -> list[DocumentRef]:
        if service is not None:
            service = self._service_name(service)
            self._may_read(p, service)
        elif p.kind == "service":
            raise Forbidden("services must name their own service")
        else:
            p.require("config:read")
        async with self._db.read() as s:
            docs = await self._store.documents(s, service)
        return [DocumentRef(service=d.service, namespace=d.namespace, version=d.version,
                            updated_at=iso(d.updated_ns), deleted=d.deleted)
                for d in docs if not d.deleted]

    async def get(
        self, p: Principal, service: str, namespace: str, *, reveal: bool = False,
        version: int | None = None,
    ) -> DocumentOut:
        service = self._service_name(service)
        self._may_read(p, service)
        if reveal and not (p.service == service and p.allows("config:reveal")):
            raise Forbidden("only the owning service can read secrets in clear")
        async with self._db.read() as s:
            doc = await self._store.document(s, service, namespace)
            if doc is None or (doc.deleted and version is None):
                raise NotFound(f"no document {service}/{namespace}", field="namespace")
            row = await self._store.version(s, doc.id, version or doc.version)
            if row is None:
                raise NotFound(f"{service}/{namespace} has no version {version}", field="version")
            schemas = {r.namespace: r for r in await self._store.schemas(s, service)}
        schema = _schema_of(schemas, namespace)
        plain = self._codec.decrypt(service, namespace, row.content, schema)
        secrets = secret_pointers(schema, plain)
        if reveal and secrets:  # only a read that shows secrets in clear is audited
            async with self._db.transaction() as s:
                self._audit(s, p, "secrets.revealed", service, namespace, row.version,
                            {"pointers": secrets})
        content = plain if reveal else mask(plain, schema)
        return DocumentOut(
            service=service, namespace=namespace, version=row.version, content=content,
            author=row.author, updated_at=iso(row.created_ns), revealed=reveal,
            secrets=secrets,
        )

    async def write(
        self, p: Principal, service: str, namespace: str, req: DocumentWrite
    ) -> tuple[DocumentOut, str | None]:
        """The document and what happened: "create", "update" or None (same content)."""
        service = self._service_name(service)
        namespace = _namespace(namespace)
        self._may_write(p, service)
        try:
            size = len(orjson.dumps(req.content))
        except orjson.JSONEncodeError as exc:  # integers beyond 64 bits, nesting > 255
            raise Invalid(f"content cannot be stored: {exc}", field="content") from None
        if size > self._max_bytes:
            raise Invalid(f"document larger than {self._max_bytes} bytes", field="content")
        return await _retry_race(lambda: self._write(p, service, namespace, req))

    async def _write(
        self, p: Principal, service: str, namespace: str, req: DocumentWrite
    ) -> tuple[DocumentOut, str | None]:
        async with self._db.transaction() as s:
            schema = await self._schema_for(s, service, namespace)
            doc = await self._store.document(s, service, namespace, for_update=True)
            current = None if doc is None or doc.deleted else await self._plain(s, doc)
            visible = 0 if current is None or doc is None else doc.version
            if req.expected_version is not None and req.expected_version != visible:
                raise Conflict(
                    f"{service}/{namespace} is at version {visible}, not {req.expected_version}",
                    field="expected_version",
                )
            content = self._codec.unmask(req.content, schema, current)
            validate_document(schema, content)
            if doc is not None and current == content:
                return self._out(doc, content, schema, doc.author), None
            action = "update" if current is not None else "create"
            doc = await self._commit(s, p, doc, service, namespace, content, current, schema,
                                     action, req.comment, None)
        return self._out(doc, content, schema, p.subject), action

    async def rollback(
        self, p: Principal, service: str, namespace: str, req: RollbackRequest
    ) -> DocumentOut:
        service = self._service_name(service)
        self._may_write(p, service)
        async with self._db.transaction() as s:
            doc = await self._store.document(s, service, namespace, for_update=True)
            if doc is None:
                raise NotFound(f"no document {service}/{namespace}", field="namespace")
            target = await self._store.version(s, doc.id, req.version)
            if target is None or target.action == "delete":
                raise NotFound(f"{service}/{namespace} has no version {req.version} to restore",
                               field="version")
            schema = await self._schema_for(s, service, namespace)
            content = self._codec.decrypt(service, namespace, target.content, schema)
            validate_document(schema, content)
            current = None if doc.deleted else await self._plain(s, doc)
            doc = await self._commit(s, p, doc, service, namespace, content, current, schema,
                                     "rollback", req.comment, req.version)
        return self._out(doc, content, schema, p.subject)

    async def delete(self, p: Principal, service: str, namespace: str) -> None:
        service = self._service_name(service)
        self._may_write(p, service)
        async with self._db.transaction() as s:
            doc = await self._store.document(s, service, namespace, for_update=True)
            if doc is None or doc.deleted:
                raise NotFound(f"no document {service}/{namespace}", field="namespace")
            schemas = {r.namespace: r for r in await self._store.schemas(s, service)}
            current = await self._plain(s, doc, schemas)
            await self._commit(s, p, doc, service, namespace, {}, current,
                               _schema_of(schemas, namespace), "delete", None, None)

    async def _commit(
        self, s: Any, p: Principal, doc: DocumentRow | None, service: str, namespace: str,
        content: dict[str, Any], current: dict[str, Any] | None, schema: dict[str, Any],
        action: str, comment: str | None, rolled_back_to: int | None,
    ) -> DocumentRow:
        now = time.time_ns()
        if doc is None:
            doc = DocumentRow(service=service, namespace=namespace, version=0, deleted=False,
                              author=p.subject, created_ns=now, updated_ns=now)
            self._store.add(s, doc)
            await s.flush()
        ops = diff(mask(current or {}, schema), mask(content, schema))
        ops += [{"op": "replace", "path": ptr, "value": MASK, "secret": True}
                for ptr in self._codec.changed_secrets(current, content, schema)]
        doc.version += 1
        doc.deleted = action == "delete"
        doc.author, doc.updated_ns = p.subject, now
        self._store.add(s, VersionRow(
            document_id=doc.id, version=doc.version, action=action,
            content=self._codec.encrypt(service, namespace, content, schema), diff=ops,
            author=p.subject, comment=comment, rolled_back_to=rolled_back_to, created_ns=now,
        ))
        self._audit(s, p, f"document.{action}", service, namespace, doc.version,
                    {"diff": ops, "comment": comment, "rolled_back_to": rolled_back_to})
        await self._events.changed(s, ConfigChanged(
            service=service, namespace=namespace, version=doc.version, action=action,
            author=p.subject, changed_ns=now,
        ))
        log.info("config.changed", service=service, namespace=namespace, version=doc.version,
                 action=action, author=p.subject)
        return doc

    # -- history and audit ---------------------------------------------------------------
    async def history(
        self, p: Principal, service: str, namespace: str, *, limit: int, before: int | None
    ) -> list[VersionOut]:
        service = self._service_name(service)
        self._may_read(p, service)
        async with self._db.read() as s:
            doc = await self._store.document(s, service, namespace)
            if doc is None:
                raise NotFound(f"no document {service}/{namespace}", field="namespace")
            rows = await self._store.versions(s, doc.id, limit=limit, before=before)
        return [VersionOut(version=r.version, action=r.action, author=r.author,
                           created_at=iso(r.created_ns), comment=r.comment, diff=r.diff,
                           rolled_back_to=r.rolled_back_to) for r in rows]

    async def audit(
        self, p: Principal, *, service: str | None, namespace: str | None, limit: int,
        before: int | None,
    ) -> list[AuditEntry]:
        p.require("config:audit")
        if service is not None:
            service = self._service_name(service)
        async with self._db.read() as s:
            rows = await self._store.audit(s, service=service, namespace=namespace, limit=limit,
                                           before=before)
        return [AuditEntry(id=r.id, at=iso(r.at_ns), actor=r.actor, action=r.action,
                           service=r.service, namespace=r.namespace, version=r.version,
                           request_id=r.request_id, detail=r.detail) for r in rows]

    # -- internals -----------------------------------------------------------------------
    def _audit(self, s: Any, p: Principal, action: str, service: str, namespace: str | None,
               version: int | None, detail: dict[str, Any]) -> None:
        self._store.add(s, AuditRow(at_ns=time.time_ns(), actor=p.subject, action=action,
                                    service=service, namespace=namespace, version=version,
                                    request_id=_request_id(), detail=detail))

    async def _schema_for(self, s: Any, service: str, namespace: str) -> dict[str, Any]:
        schemas = {r.namespace: r for r in await self._store.schemas(s, service)}
        pattern = best_pattern(schemas, namespace)
        if pattern is None:
            known = ", ".join(sorted(schemas)) or "none yet"
            raise Invalid(f"{service} has no schema for namespace {namespace!r} (registered: "
                          f"{known}); services publish their schemas at start-up",
                          field="namespace")
        return schemas[pattern].json_schema

    async def _plain(self, s: Any, doc: DocumentRow,
                     schemas: dict[str, SchemaRow] | None = None) -> dict[str, Any]:
        if schemas is None:
            schemas = {r.namespace: r for r in await self._store.schemas(s, doc.service)}
        row = await self._store.version(s, doc.id, doc.version)
        assert row is not None, "a document always has its head version"
        return self._codec.decrypt(doc.service, doc.namespace, row.content,
                                   _schema_of(schemas, doc.namespace))

    @staticmethod
    def _out(doc: DocumentRow, content: dict[str, Any], schema: dict[str, Any],
             author: str) -> DocumentOut:
        return DocumentOut(service=doc.service, namespace=doc.namespace, version=doc.version,
                           content=mask(content, schema), author=author,
                           updated_at=iso(doc.updated_ns), secrets=secret_pointers(schema, content))


async def _retry_race(attempt: Callable[[], Awaitable[_T]]) -> _T:
    """On PostgreSQL the first writes of one key race on its unique constraint (a row that
    does not exist yet cannot be locked); the loser runs again and then finds the row."""
    for _ in range(2):
        try:
            return await attempt()
        except IntegrityError:
            log.info("config.write_race_retried")
    try:
        return await attempt()
    except IntegrityError:
        raise Conflict("a concurrent change won; read and try again") from None


def _namespace(namespace: str) -> str:
    try:
        valid_namespace(namespace)
    except ValueError as exc:
        raise Invalid(str(exc), field="namespace") from None
    return namespace


def _schema_of(schemas: dict[str, SchemaRow], namespace: str) -> dict[str, Any]:
    """The schema governing `namespace`, or {} (no secrets) when none is registered."""
    pattern = best_pattern(schemas, namespace)
    return schemas[pattern].json_schema if pattern else {}


def _digest(schema: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)).hexdigest()
