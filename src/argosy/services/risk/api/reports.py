"""/api/v1/risk/reports."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response

from argosy.contracts.v1.risk import ReportOut, ReportRequest
from argosy.services.risk.api._deps import ERRORS, RequestDeps
from argosy.services.risk.service._context import Caller
from argosy.services.risk.service.reports import ReportsService

__all__ = ["router"]

Id = Annotated[str, Path(max_length=40)]


def router(deps: RequestDeps, reports: ReportsService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/risk/reports", tags=["risk reports"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("", summary="Risk reports (daily and on demand), newest first")
    async def list_reports(
        c: Who,
        scope: Literal["account", "org"] | None = None,
        key: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, list[ReportOut]]:
        return {"items": await reports.list(c, scope, key, limit)}

    @r.post("", status_code=201, summary="Make a report now (HTML and PDF)")
    async def create(body: ReportRequest, c: Who) -> ReportOut:
        return await reports.create(c, body)

    @r.get("/{report_id}/{fmt}", summary="The report's HTML or PDF")
    async def content(report_id: Id, fmt: Literal["html", "pdf"], c: Who) -> Response:
        data, media = await reports.content(c, report_id, fmt)
        return Response(content=data, media_type=media)

    return r
