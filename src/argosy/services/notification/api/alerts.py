"""/api/v1/alerts/price: a user's price alerts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from argosy.services.notification.api._deps import ERRORS, RequestDeps
from argosy.services.notification.schemas import PriceAlertIn, PriceAlertOut
from argosy.services.notification.service._context import Caller
from argosy.services.notification.service.alerts import AlertsService

__all__ = ["router"]

Id = Annotated[str, Path(max_length=40)]


def router(deps: RequestDeps, alerts: AlertsService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/alerts/price", tags=["price alerts"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("", summary="My price alerts")
    async def list_alerts(c: Who) -> dict[str, list[PriceAlertOut]]:
        return {"items": await alerts.list(c)}

    @r.post("", status_code=201, summary="Create a price alert",
            description="`above`/`below`/`cross` a `level`, or `move_up`/`move_down`/`move` "
            "by `pct` percent within `window_s`, evaluated on the market data stream. Fires "
            "once unless `repeat`; notifies through the `price_alert` event routing.")
    async def create(body: PriceAlertIn, c: Who) -> PriceAlertOut:
        return await alerts.create(c, body)

    @r.delete("/{alert_id}", status_code=204, summary="Delete a price alert")
    async def delete(alert_id: Id, c: Who) -> Response:
        await alerts.delete(c, alert_id)
        return Response(status_code=204)

    return r
