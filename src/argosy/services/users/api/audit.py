"""The security audit log (/api/v1/audit), `audit:read` only, always the caller's tenant."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from argosy.kernel.clock import iso_to_ns
from argosy.kernel.errors import Invalid
from argosy.services.users.api._deps import ERRORS, RequestDeps
from argosy.services.users.auditlog import AuditFilter
from argosy.services.users.schemas import AuditOut
from argosy.services.users.service._context import Caller
from argosy.services.users.service.audit import AuditService

__all__ = ["router"]

Text = Annotated[str | None, Query(max_length=80)]


def _ns(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    try:
        return iso_to_ns(value)
    except Invalid as exc:
        raise Invalid(exc.message, field=field) from None


def router(deps: RequestDeps, audit: AuditService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    def filters(c: Caller, actor: str | None, action: str | None, target_type: str | None,
                target_id: str | None, since: str | None, until: str | None,
                before: int | None) -> AuditFilter:
        return AuditFilter(org=c.org, actor=actor, action=action, target_type=target_type,
                           target_id=target_id, since_ns=_ns(since, "since"),
                           until_ns=_ns(until, "until"), before_seq=before)

    @r.get("", summary="Audit entries of my organisation, newest first")
    async def query(
        c: Who, actor: Text = None, action: Text = None, target_type: Text = None,
        target_id: Text = None, since: Text = None, until: Text = None,
        before: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, object]:
        f = filters(c, actor, action, target_type, target_id, since, until, before)
        items: list[AuditOut] = await audit.query(c, f, limit)
        return {"items": items, "next_before": items[-1].seq if len(items) == limit else None}

    @r.get("/export", summary="Export as CSV or JSON lines (streamed)",
           response_class=StreamingResponse)
    async def export(
        c: Who, format: Annotated[Literal["csv", "jsonl"], Query()] = "jsonl",
        actor: Text = None, action: Text = None, target_type: Text = None,
        target_id: Text = None, since: Text = None, until: Text = None,
    ) -> StreamingResponse:
        f = filters(c, actor, action, target_type, target_id, since, until, None)
        body = await audit.export(c, f, format)
        media = "text/csv" if format == "csv" else "application/x-ndjson"
        return StreamingResponse(body, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="audit.{format}"'})

    return r
