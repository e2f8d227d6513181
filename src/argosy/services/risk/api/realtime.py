"""/api/v1/risk/exposure, /alerts and /stops."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from argosy.contracts.v1.risk import AlertOut, ExposureOut, StopIn, StopOut
from argosy.services.risk.api._deps import ERRORS, RequestDeps
from argosy.services.risk.service._context import Caller
from argosy.services.risk.service.alerts import AlertsService
from argosy.services.risk.service.exposure import ExposureService
from argosy.services.risk.service.protection import Protection

__all__ = ["router"]

Id = Annotated[str, Path(max_length=40)]


def router(
    deps: RequestDeps, exposure: ExposureService, alerts: AlertsService, protection: Protection
) -> APIRouter:
    r = APIRouter(prefix="/api/v1/risk", tags=["real-time risk"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get(
        "/exposure", summary="Exposure, PnL, drawdown, VaR and margin of an account, user or org",
        description="Amounts in the quote currency (stablecoins at par). `key` defaults to "
        "the caller (user) or the caller's organisation (org); account needs `key`.",
    )  # fmt: skip
    async def get_exposure(
        c: Who,
        scope: Literal["account", "user", "org"] = "user",
        key: Annotated[str | None, Query(max_length=64)] = None,
    ) -> ExposureOut:
        return await exposure.exposure(c, scope, key)

    @r.get("/alerts", summary="Risk alerts, newest first (the audit trail of actions)")
    async def list_alerts(
        c: Who,
        severity: Literal["info", "warning", "critical"] | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, list[AlertOut]]:
        return {"items": await alerts.list(c, severity, limit)}

    @r.post(
        "/stops", status_code=201, summary="Server-side stop-loss / take-profit / trailing",
        description="Watched by the risk service on every mark; when one fires the position "
        "is closed with a reduce-only market order. Stored, so it survives restarts.",
    )  # fmt: skip
    async def create_stop(body: StopIn, c: Who) -> StopOut:
        return await protection.create_stop(c, body)

    @r.get("/stops", summary="My stops")
    async def list_stops(c: Who) -> dict[str, list[StopOut]]:
        return {"items": await protection.list_stops(c)}

    @r.delete("/stops/{stop_id}", summary="Cancel a stop")
    async def cancel_stop(stop_id: Id, c: Who) -> StopOut:
        return await protection.cancel_stop(c, stop_id)

    return r
