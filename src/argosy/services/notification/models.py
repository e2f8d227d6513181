"""Tables owned by the notification service.

`deliveries` is the durable queue: one row per (event, channel, recipient), unique by its
idempotency key, moving queued → sending → sent/delivered, or failed (waiting for a retry)
→ dead. Every user-owned row carries `user_id` and `org_id`, and every API query filters
by both, so another user's id reads as absent (404).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "DeliveryRow",
    "DigestItemRow",
    "InboxRow",
    "PreferencesRow",
    "PriceAlertRow",
    "PushSubscriptionRow",
    "TemplateRow",
]

_ID = BigInteger().with_variant(Integer(), "sqlite")
_STR_ID = String(40)


class Base(DeclarativeBase):
    pass


class PreferencesRow(Base):
    __tablename__ = "preferences"

    user_id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    locale: Mapped[str] = mapped_column(String(35))
    timezone: Mapped[str] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    events: Mapped[dict[str, Any]] = mapped_column(JSON)
    severity_channels: Mapped[dict[str, Any]] = mapped_column(JSON)
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)
    digest_interval_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    digest_severities: Mapped[list[str]] = mapped_column(JSON)
    digest_time: Mapped[str | None] = mapped_column(String(5), nullable=True)  # HH:MM local
    saved: Mapped[bool] = mapped_column(Boolean)  # False: only learned from users events
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class PushSubscriptionRow(Base):
    __tablename__ = "push_subscriptions"

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(_STR_ID, index=True)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(Text)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    user_agent: Mapped[str] = mapped_column(String(512))
    created_ns: Mapped[int] = mapped_column(BigInteger)


class TemplateRow(Base):
    """An organisation's override of a built-in template (org_id "*": platform-wide)."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("org_id", "event_type", "channel", "locale"),)

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    event_type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(35))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(80))
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_ns"),
        Index("ix_deliveries_user", "user_id", "id"),
        Index("ix_deliveries_fingerprint", "fingerprint", "created_ns"),
    )

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    user_id: Mapped[str] = mapped_column(_STR_ID)
    event_type: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(Text)
    recipient_ref: Mapped[str | None] = mapped_column(_STR_ID, nullable=True)  # push sub id
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_ns: Mapped[int] = mapped_column(BigInteger)
    held_until_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lease_until_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)
    sent_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivered_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class InboxRow(Base):
    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_user", "user_id", "id"),)

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(_STR_ID)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    event_type: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    read_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DigestItemRow(Base):
    """A low-severity event waiting for the user's next digest on one channel."""

    __tablename__ = "digest_items"
    __table_args__ = (Index("ix_digest_items_user", "user_id", "channel", "created_ns"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(_STR_ID)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_ns: Mapped[int] = mapped_column(BigInteger)


class PriceAlertRow(Base):
    __tablename__ = "price_alerts"
    __table_args__ = (Index("ix_price_alerts_user", "user_id", "id"),)

    id: Mapped[str] = mapped_column(_STR_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(_STR_ID)
    org_id: Mapped[str] = mapped_column(_STR_ID)
    instrument: Mapped[str] = mapped_column(String(80), index=True)
    condition: Mapped[str] = mapped_column(String(12))
    level: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pct: Mapped[str | None] = mapped_column(String(16), nullable=True)
    window_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    repeat: Mapped[bool] = mapped_column(Boolean)
    cooldown_s: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(8))  # active | fired
    fired_count: Mapped[int] = mapped_column(Integer)
    last_fired_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_price: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)
