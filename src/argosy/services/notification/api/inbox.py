"""/api/v1/notifications (inbox) and /api/v1/notifications/deliveries (status)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from argosy.services.notification.api._deps import ERRORS, RequestDeps
from argosy.services.notification.schemas import (
    DeliveryOut,
    DeliveryPage,
    InboxItemOut,
    InboxPage,
)
from argosy.services.notification.service._context import Caller
from argosy.services.notification.service.inbox import InboxService

__all__ = ["router"]

Id = Annotated[str, Path(max_length=40)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=40, description="`next_cursor` of a page.")]


def router(deps: RequestDeps, inbox: InboxService) -> APIRouter:
    r = APIRouter(prefix="/api/v1/notifications", tags=["inbox"], responses=ERRORS)
    Who = Annotated[Caller, Depends(deps.caller)]  # noqa: N806

    @r.get("", summary="My in-app notifications, newest first")
    async def list_inbox(c: Who, limit: Limit = 50, before: Cursor = None,
                         unread: bool = False) -> InboxPage:
        return await inbox.list(c, limit=limit, before=before, unread=unread)

    @r.post("/{notification_id}/read", summary="Mark one notification read")
    async def read(notification_id: Id, c: Who) -> InboxItemOut:
        return await inbox.mark_read(c, notification_id)

    @r.get("/deliveries", summary="Status of my messages on every channel",
           description="queued, sending, sent, delivered (the channel confirmed), failed "
           "(retrying), dead (given up; `reason` holds the provider's answer).")
    async def deliveries(
        c: Who, limit: Limit = 50, before: Cursor = None,
        state: Annotated[str | None, Query(max_length=12)] = None,
        channel: Annotated[str | None, Query(max_length=16)] = None,
        event_type: Annotated[str | None, Query(max_length=40)] = None,
    ) -> DeliveryPage:
        return await inbox.deliveries(c, limit=limit, before=before, state=state,
                                      channel=channel, event_type=event_type)

    @r.get("/deliveries/{delivery_id}", summary="One delivery's status")
    async def delivery(delivery_id: Id, c: Who) -> DeliveryOut:
        return await inbox.delivery(c, delivery_id)

    return r
