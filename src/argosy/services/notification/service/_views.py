"""Rows → wire models (shared by the use-cases that return them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from argosy.kernel.clock import ns_to_iso
from argosy.services.notification.domain.addresses import mask_address
from argosy.services.notification.models import DeliveryRow, InboxRow, PriceAlertRow
from argosy.services.notification.schemas import DeliveryOut, InboxItemOut, PriceAlertOut

__all__ = ["delivery_out", "inbox_out", "iso_or_none", "price_alert_out"]


def iso_or_none(ns: int | None) -> str | None:
    return None if ns is None else ns_to_iso(ns)


def delivery_out(r: DeliveryRow | Mapping[str, Any]) -> DeliveryOut:
    v = r if isinstance(r, Mapping) else {c: getattr(r, c) for c in (
        "id", "event_type", "severity", "channel", "recipient", "state", "attempts",
        "last_error", "created_ns", "updated_ns", "next_attempt_ns", "held_until_ns",
        "sent_ns", "delivered_ns")}
    waiting = v["state"] in ("queued", "failed")
    recipient = v["recipient"]
    return DeliveryOut(
        id=v["id"], event_type=v["event_type"], severity=v["severity"], channel=v["channel"],
        recipient=mask_address("push", recipient) if v["channel"] == "push" else recipient,
        state=v["state"], attempts=v["attempts"], reason=v.get("last_error"),
        created_at=ns_to_iso(v["created_ns"]), updated_at=ns_to_iso(v["updated_ns"]),
        next_attempt_at=iso_or_none(v["next_attempt_ns"]) if waiting else None,
        held_until=iso_or_none(v.get("held_until_ns")) if waiting else None,
        sent_at=iso_or_none(v.get("sent_ns")), delivered_at=iso_or_none(v.get("delivered_ns")),
    )


def inbox_out(r: InboxRow) -> InboxItemOut:
    return InboxItemOut(id=r.id, event_type=r.event_type, severity=r.severity, title=r.title,
                        body=r.body, data=r.data or {}, created_at=ns_to_iso(r.created_ns),
                        read=r.read_ns is not None, read_at=iso_or_none(r.read_ns))


def price_alert_out(r: PriceAlertRow) -> PriceAlertOut:
    return PriceAlertOut(
        id=r.id, instrument=r.instrument, condition=r.condition, level=r.level, pct=r.pct,
        window_s=r.window_s, repeat=r.repeat, cooldown_s=r.cooldown_s, note=r.note,
        state="fired" if r.state == "fired" else "active", fired_count=r.fired_count,
        last_fired_at=iso_or_none(r.last_fired_ns), last_price=r.last_price,
        created_at=ns_to_iso(r.created_ns))
