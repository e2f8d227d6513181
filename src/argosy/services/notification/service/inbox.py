"""A user's inbox (in-app notifications) and the delivery status of their messages."""

from __future__ import annotations

from argosy.kernel.errors import Invalid, NotFound
from argosy.services.notification.domain.catalog import check_channel, check_event_type
from argosy.services.notification.schemas import (
    DeliveryOut,
    DeliveryPage,
    InboxItemOut,
    InboxPage,
)
from argosy.services.notification.service._context import Caller, Deps
from argosy.services.notification.service._views import delivery_out, inbox_out

__all__ = ["InboxService"]

_STATES = ("queued", "sending", "sent", "delivered", "failed", "dead")


class InboxService:
    def __init__(self, deps: Deps) -> None:
        self.d = deps

    async def list(self, c: Caller, *, limit: int, before: str | None,
                   unread: bool) -> InboxPage:
        c.require("notifications:read")
        async with self.d.db.read() as s:
            rows = await self.d.store.inbox(s, c.user_id, c.org, limit=limit + 1,
                                            before=before, unread=unread)
            count = await self.d.store.unread_count(s, c.user_id, c.org)
        more = len(rows) > limit
        rows = rows[:limit]
        return InboxPage(items=[inbox_out(r) for r in rows],
                         next_cursor=rows[-1].id if more and rows else None, unread=count)

    async def mark_read(self, c: Caller, item_id: str) -> InboxItemOut:
        c.require("notifications:write")
        now = self.d.now()
        async with self.d.db.transaction() as s:
            row = await self.d.store.inbox_item(s, item_id, c.user_id, c.org)
            if row is None:
                raise NotFound("no such notification", field="notification_id")
            if row.read_ns is None:
                row.read_ns = now
        return inbox_out(row)

    async def deliveries(self, c: Caller, *, limit: int, before: str | None,
                         state: str | None, channel: str | None,
                         event_type: str | None) -> DeliveryPage:
        c.require("notifications:read")
        if state is not None and state not in _STATES:
            raise Invalid(f"state must be one of {', '.join(_STATES)}", field="state")
        if channel is not None:
            check_channel(channel)
        if event_type is not None:
            check_event_type(event_type)
        async with self.d.db.read() as s:
            rows = await self.d.store.deliveries(s, c.user_id, c.org, limit=limit + 1,
                                                 before=before, state=state, channel=channel,
                                                 event_type=event_type)
        more = len(rows) > limit
        rows = rows[:limit]
        return DeliveryPage(items=[delivery_out(r) for r in rows],
                            next_cursor=rows[-1].id if more and rows else None)

    async def delivery(self, c: Caller, delivery_id: str) -> DeliveryOut:
        c.require("notifications:read")
        async with self.d.db.read() as s:
            row = await self.d.store.delivery(s, delivery_id, c.user_id, c.org)
        if row is None:
            raise NotFound("no such delivery", field="delivery_id")
        return delivery_out(row)
