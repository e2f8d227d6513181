"""Repository over the notification service's tables; every method runs in the caller's
session. User-owned lookups take the user and organisation as part of the WHERE clause,
so another user's object is simply not found (404, never 403)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.services.notification.models import (
    DeliveryRow,
    DigestItemRow,
    InboxRow,
    PreferencesRow,
    PriceAlertRow,
    PushSubscriptionRow,
    TemplateRow,
)

__all__ = ["GLOBAL_ORG", "NotificationStore"]

GLOBAL_ORG = "*"  # templates that apply to every organisation without its own
_R = TypeVar("_R")


async def _first(s: AsyncSession, q: Select[_R]) -> _R | None:
    return (await s.scalars(q.limit(1))).first()


def _insert(s: AsyncSession, table: Any) -> Any:
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class NotificationStore:
    # -- preferences and push subscriptions ----------------------------------------------
    async def preferences(self, s: AsyncSession, user_id: str, *,
                          lock: bool = False) -> PreferencesRow | None:
        q = select(PreferencesRow).where(PreferencesRow.user_id == user_id)
        return await _first(s, q.with_for_update() if lock else q)

    async def push_subscriptions(self, s: AsyncSession,
                                 user_id: str) -> Sequence[PushSubscriptionRow]:
        q = select(PushSubscriptionRow).where(PushSubscriptionRow.user_id == user_id)
        return (await s.scalars(q.order_by(PushSubscriptionRow.created_ns))).all()

    async def push_subscription(self, s: AsyncSession, sub_id: str) -> PushSubscriptionRow | None:
        return await s.get(PushSubscriptionRow, sub_id)

    async def push_by_endpoint(self, s: AsyncSession,
                               endpoint_hash: str) -> PushSubscriptionRow | None:
        q = select(PushSubscriptionRow).where(PushSubscriptionRow.endpoint_hash == endpoint_hash)
        return await _first(s, q)

    async def drop_push_subscription(self, s: AsyncSession, sub_id: str) -> None:
        await s.execute(delete(PushSubscriptionRow).where(PushSubscriptionRow.id == sub_id))

    # -- templates -------------------------------------------------------------------------
    async def template_for(self, s: AsyncSession, org: str, event: str, channel: str,
                           locale: str) -> TemplateRow | None:
        """The organisation's override, else the platform-wide one, else None (built-in)."""
        q = select(TemplateRow).where(
            TemplateRow.org_id.in_((org, GLOBAL_ORG)), TemplateRow.event_type == event,
            TemplateRow.channel == channel, TemplateRow.locale == locale)
        rows = (await s.scalars(q)).all()
        return next((r for r in rows if r.org_id == org), rows[0] if rows else None)

    async def templates(self, s: AsyncSession, org: str) -> Sequence[TemplateRow]:
        q = select(TemplateRow).where(TemplateRow.org_id.in_({org, GLOBAL_ORG}))
        return (await s.scalars(q.order_by(TemplateRow.event_type, TemplateRow.channel,
                                           TemplateRow.locale))).all()

    async def template(self, s: AsyncSession, template_id: str, orgs: set[str], *,
                       lock: bool = False) -> TemplateRow | None:
        q = select(TemplateRow).where(TemplateRow.id == template_id,
                                      TemplateRow.org_id.in_(orgs))
        return await _first(s, q.with_for_update() if lock else q)

    async def template_by_key(self, s: AsyncSession, org: str, event: str, channel: str,
                              locale: str) -> TemplateRow | None:
        q = select(TemplateRow).where(
            TemplateRow.org_id == org, TemplateRow.event_type == event,
            TemplateRow.channel == channel, TemplateRow.locale == locale)
        return await _first(s, q.with_for_update())

    # -- deliveries ------------------------------------------------------------------------
    async def add_delivery(self, s: AsyncSession, values: dict[str, Any]) -> bool:
        """Insert unless the idempotency key exists; True when inserted."""
        stmt = _insert(s, DeliveryRow.__table__).values(**values).on_conflict_do_nothing(
            index_elements=["idempotency_key"])
        result = await s.execute(stmt)
        return bool(getattr(result, "rowcount", 0) == 1)

    async def seen_recently(self, s: AsyncSession, fingerprint: str, since_ns: int) -> bool:
        q = select(DeliveryRow.id).where(DeliveryRow.fingerprint == fingerprint,
                                         DeliveryRow.created_ns >= since_ns)
        return await _first(s, q) is not None

    async def deliveries(self, s: AsyncSession, user_id: str, org: str, *, limit: int,
                         before: str | None, state: str | None, channel: str | None,
                         event_type: str | None) -> Sequence[DeliveryRow]:
        q = select(DeliveryRow).where(DeliveryRow.user_id == user_id, DeliveryRow.org_id == org)
        for column, value in ((DeliveryRow.state, state), (DeliveryRow.channel, channel),
                              (DeliveryRow.event_type, event_type)):
            if value is not None:
                q = q.where(column == value)
        if before is not None:
            q = q.where(DeliveryRow.id < before)
        return (await s.scalars(q.order_by(DeliveryRow.id.desc()).limit(limit))).all()

    async def delivery(self, s: AsyncSession, delivery_id: str, user_id: str,
                       org: str) -> DeliveryRow | None:
        q = select(DeliveryRow).where(DeliveryRow.id == delivery_id,
                                      DeliveryRow.user_id == user_id, DeliveryRow.org_id == org)
        return await _first(s, q)

    async def held(self, s: AsyncSession, user_id: str) -> Sequence[DeliveryRow]:
        q = select(DeliveryRow).where(DeliveryRow.user_id == user_id,
                                      DeliveryRow.state == "queued",
                                      DeliveryRow.held_until_ns.is_not(None))
        return (await s.scalars(q)).all()

    async def purge_deliveries(self, s: AsyncSession, before_ns: int) -> int:
        result = await s.execute(delete(DeliveryRow).where(
            DeliveryRow.state.in_(("sent", "delivered", "dead")),
            DeliveryRow.updated_ns < before_ns))
        return int(getattr(result, "rowcount", 0) or 0)

    # -- inbox -----------------------------------------------------------------------------
    async def add_inbox(self, s: AsyncSession, row: InboxRow) -> None:
        s.add(row)

    async def inbox(self, s: AsyncSession, user_id: str, org: str, *, limit: int,
                    before: str | None, unread: bool) -> Sequence[InboxRow]:
        q = select(InboxRow).where(InboxRow.user_id == user_id, InboxRow.org_id == org)
        if unread:
            q = q.where(InboxRow.read_ns.is_(None))
        if before is not None:
            q = q.where(InboxRow.id < before)
        return (await s.scalars(q.order_by(InboxRow.id.desc()).limit(limit))).all()

    async def unread_count(self, s: AsyncSession, user_id: str, org: str) -> int:
        q = select(func.count()).select_from(InboxRow).where(
            InboxRow.user_id == user_id, InboxRow.org_id == org, InboxRow.read_ns.is_(None))
        return int(await s.scalar(q) or 0)

    async def inbox_item(self, s: AsyncSession, item_id: str, user_id: str,
                         org: str) -> InboxRow | None:
        q = select(InboxRow).where(InboxRow.id == item_id, InboxRow.user_id == user_id,
                                   InboxRow.org_id == org)
        return await _first(s, q)

    async def mark_read(self, s: AsyncSession, item_id: str, now: int) -> None:
        await s.execute(update(InboxRow).where(InboxRow.id == item_id,
                                               InboxRow.read_ns.is_(None)).values(read_ns=now))

    # -- digests ---------------------------------------------------------------------------
    async def digest_heads(self, s: AsyncSession) -> list[tuple[str, str, int]]:
        """(user, channel, oldest item) for every pending digest."""
        q = (select(DigestItemRow.user_id, DigestItemRow.channel,
                    func.min(DigestItemRow.created_ns))
             .group_by(DigestItemRow.user_id, DigestItemRow.channel))
        return [(u, c, int(n)) for u, c, n in (await s.execute(q)).all()]

    async def digest_items(self, s: AsyncSession, user_id: str,
                           channel: str) -> Sequence[DigestItemRow]:
        q = select(DigestItemRow).where(DigestItemRow.user_id == user_id,
                                        DigestItemRow.channel == channel)
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        return (await s.scalars(q.order_by(DigestItemRow.id))).all()

    async def drop_digest_items(self, s: AsyncSession, ids: list[int]) -> None:
        await s.execute(delete(DigestItemRow).where(DigestItemRow.id.in_(ids)))

    # -- price alerts ----------------------------------------------------------------------
    async def price_alerts(self, s: AsyncSession, user_id: str,
                           org: str) -> Sequence[PriceAlertRow]:
        q = select(PriceAlertRow).where(PriceAlertRow.user_id == user_id,
                                        PriceAlertRow.org_id == org)
        return (await s.scalars(q.order_by(PriceAlertRow.id))).all()

    async def price_alert(self, s: AsyncSession, alert_id: str, user_id: str,
                          org: str) -> PriceAlertRow | None:
        q = select(PriceAlertRow).where(PriceAlertRow.id == alert_id,
                                        PriceAlertRow.user_id == user_id,
                                        PriceAlertRow.org_id == org)
        return await _first(s, q)

    async def active_price_alerts(self, s: AsyncSession) -> Sequence[PriceAlertRow]:
        q = select(PriceAlertRow).where(PriceAlertRow.state == "active")
        return (await s.scalars(q)).all()

    async def count_price_alerts(self, s: AsyncSession, user_id: str) -> int:
        q = select(func.count()).select_from(PriceAlertRow).where(
            PriceAlertRow.user_id == user_id)
        return int(await s.scalar(q) or 0)

    async def fire_price_alert(self, s: AsyncSession, alert_id: str, seen_count: int, *,
                               repeat: bool, price: str, now: int) -> bool:
        """Record one firing; False when another instance fired this occurrence first."""
        result = await s.execute(update(PriceAlertRow).where(
            PriceAlertRow.id == alert_id, PriceAlertRow.state == "active",
            PriceAlertRow.fired_count == seen_count,
        ).values(fired_count=seen_count + 1, last_fired_ns=now, last_price=price,
                 state="active" if repeat else "fired", updated_ns=now))
        return bool(getattr(result, "rowcount", 0) == 1)
