"""REST API of the config service under /api/v1/config: parse, call the service, map.

No `from __future__ import annotations` here: FastAPI must see the local `Who` type.
"""


from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from argosy.contracts.v1.config import (
    AuditEntry,
    DocumentOut,
    DocumentRef,
    DocumentWrite,
    RollbackRequest,
    SchemaRegistration,
)
from argosy.platform.auth.internal import Principal
from argosy.services.config.rotation import KeyRotation
from argosy.services.config.service import ConfigService

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid identity"},
    403: {"description": "Identity lacks the permission"},
    404: {"description": "Unknown service, document or version"},
    409: {"description": "expected_version does not match"},
    422: {"description": "Validation failed; `error.field` names the field"},
}

Service = Annotated[str, Path(description="Owning service, e.g. `risk`.")]
Namespace = Annotated[str, Path(description="Namespace, e.g. `limits` or `params/grid-1`.")]
Limit = Annotated[int, Query(ge=1, le=500)]

def router(
    svc: ConfigService, keys: KeyRotation, identity: Callable[[Request], Awaitable[Principal]]
) -> APIRouter:
    r = APIRouter(prefix="/api/v1/config", tags=["config"], responses=_ERRORS)
    Who = Annotated[Principal, Depends(identity)]  # noqa: N806  (a type alias)

    @r.get("/services", summary="Services that have registered schemas")
    async def services(p: Who) -> dict[str, list[str]]:
        return {"items": await svc.services(p)}

    @r.put("/schemas/{service}", summary="Publish a service's namespace schemas (start-up)")
    async def register(service: Service, body: SchemaRegistration, p: Who) -> dict[str, Any]:
        return await svc.register_schemas(p, service, body)

    @r.get("/schemas/{service}", summary="The JSON schemas a service accepts")
    async def schemas(service: Service, p: Who) -> dict[str, Any]:
        return {"items": await svc.schemas(p, service)}

    @r.get("/documents", summary="Current documents (versions only, no content)")
    async def documents(
        p: Who, service: Annotated[str | None, Query()] = None
    ) -> dict[str, list[DocumentRef]]:
        return {"items": await svc.list_documents(p, service)}

    @r.get("/documents/{service}/{namespace:path}/history", summary="Versions, newest first")
    async def history(
        service: Service, namespace: Namespace, p: Who, limit: Limit = 50,
        before: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        items = await svc.history(p, service, namespace, limit=limit, before=before)
        nxt = items[-1].version if len(items) == limit and items[-1].version > 1 else None
        return {"items": items, "next_before": nxt}

    @r.get("/documents/{service}/{namespace:path}/versions/{version}",
           summary="A document as it was at one version (secrets masked)")
    async def at_version(
        service: Service, namespace: Namespace, version: Annotated[int, Path(ge=1)], p: Who
    ) -> DocumentOut:
        return await svc.get(p, service, namespace, version=version)

    @r.post("/documents/{service}/{namespace:path}/rollback",
            summary="Make an earlier version current again (as a new version)")
    async def rollback(
        service: Service, namespace: Namespace, body: RollbackRequest, p: Who
    ) -> DocumentOut:
        return await svc.rollback(p, service, namespace, body)

    @r.get("/documents/{service}/{namespace:path}", summary="Current document")
    async def get(
        service: Service, namespace: Namespace, p: Who,
        reveal: Annotated[bool, Query(description="Owning service only: secrets in clear")] = False,
    ) -> DocumentOut:
        return await svc.get(p, service, namespace, reveal=reveal)

    @r.put("/documents/{service}/{namespace:path}",
           summary="Create or update a document (validated against the owner's schema)",
           responses={201: {"description": "Created (or re-created after a delete)"},
                      200: {"description": "Updated, or unchanged (same content)"}})
    async def put(
        service: Service, namespace: Namespace, body: DocumentWrite, p: Who, response: Response
    ) -> DocumentOut:
        out, action = await svc.write(p, service, namespace, body)
        response.status_code = 201 if action == "create" else 200
        response.headers["x-argosy-changed"] = "true" if action else "false"
        return out

    @r.delete("/documents/{service}/{namespace:path}", status_code=204,
              summary="Delete a document (history is kept; the service falls back to defaults)")
    async def delete(service: Service, namespace: Namespace, p: Who) -> Response:
        await svc.delete(p, service, namespace)
        return Response(status_code=204)

    @r.get("/audit", summary="Audit trail of every change, newest first")
    async def audit(
        p: Who, service: Annotated[str | None, Query()] = None,
        namespace: Annotated[str | None, Query()] = None, limit: Limit = 100,
        before: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, Any]:
        items: list[AuditEntry] = await svc.audit(
            p, service=service, namespace=namespace, limit=limit, before=before
        )
        nxt = items[-1].id if len(items) == limit else None
        return {"items": items, "next_before": nxt}

    @r.get("/admin/keys", summary="Master keys and how many stored secrets each protects")
    async def key_status(p: Who) -> dict[str, Any]:
        return await keys.status(p)

    @r.post("/admin/keys/rotate",
            summary="Retire the master key, make a new one, re-encrypt every secret")
    async def rotate_key(p: Who) -> dict[str, Any]:
        return await keys.rotate(p)

    @r.post("/admin/keys/reencrypt",
            summary="Re-read the key files and move every secret to the current key")
    async def reencrypt(p: Who) -> dict[str, Any]:
        return await keys.reencrypt(p)

    return r
