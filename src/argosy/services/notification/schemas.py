"""Wire models of the notification service's REST API.

Request models forbid unknown fields, so a misspelt or smuggled field (`user_id`) is a 422
naming it. Values are checked in the use-cases with domain rules that name the exact
field (`events.order_filled[1]`), and nothing is stored unless everything is valid.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DeliveryOut", "DeliveryPage", "DigestIn", "EventTypeOut", "InboxItemOut", "InboxPage",
    "PreferencesIn", "PreferencesOut", "PreviewIn", "PreviewOut", "PriceAlertIn",
    "PriceAlertOut", "PushKeyOut", "PushSubscriptionIn", "PushSubscriptionOut", "QuietHoursIn",
    "TemplateIn", "TemplateOut", "TestIn", "TestOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=20_000)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# -- preferences -----------------------------------------------------------------------
class QuietHoursIn(_In):
    start: str = Field(description="HH:MM, 24 h, in the preferences' time zone.")
    end: str = Field(description="HH:MM; earlier than start means the window wraps midnight.")


class DigestIn(_In):
    interval_minutes: int = Field(60, description="Collect for this long, then send one.")
    severities: list[str] = Field(["info"], description="Batched severities (not critical).")
    time: str | None = Field(None, description="HH:MM: send once a day at this time in the "
                             "preferences' time zone, instead of every interval.")


class PreferencesIn(_In):
    locale: str = Field("en", max_length=35)
    timezone: str = Field("UTC", max_length=64, description="IANA zone for quiet hours.")
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32, description="E.164, e.g. +4915112345678.")
    telegram_chat_id: str | None = Field(None, max_length=40)
    webhook_url: str | None = Field(None, max_length=2048)
    rotate_webhook_secret: bool = Field(False, description="Issue a new signing secret.")
    events: dict[str, list[str]] = Field(
        default_factory=dict, description="Event type → channels; overrides severity routing.")
    severity_channels: dict[str, list[str]] = Field(
        default_factory=dict, description="info|warning|critical → channels.")
    quiet_hours: QuietHoursIn | None = None
    digest: DigestIn | None = None


class QuietHoursOut(_Out):
    start: str
    end: str


class DigestOut(_Out):
    interval_minutes: int
    severities: list[str]
    time: str | None = None


class PreferencesOut(_Out):
    locale: str
    timezone: str
    email: str | None
    phone: str | None
    telegram_chat_id: str | None
    webhook_url: str | None
    webhook_secret: str | None = Field(
        None, description="Shown once, in the response that created or rotated it.")
    webhook_secret_hint: str | None = None
    events: dict[str, list[str]]
    severity_channels: dict[str, list[str]] = Field(description="Effective, defaults included.")
    quiet_hours: QuietHoursOut | None
    digest: DigestOut | None
    push_subscriptions: int
    channels: dict[str, str | None] = Field(
        description="Channel → why this server cannot use it (null: available).")
    saved: bool = Field(description="False until the user saves; addresses may be learned.")


# -- push ------------------------------------------------------------------------------
class PushKeysIn(_In):
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)


class PushSubscriptionIn(_In):
    """`PushSubscription.toJSON()` as a browser returns it."""

    endpoint: str = Field(max_length=2048)
    keys: PushKeysIn
    expirationTime: int | None = None  # noqa: N815 (the browser's own spelling)


class PushSubscriptionOut(_Out):
    id: str
    endpoint: str
    created_at: str


class PushKeyOut(_Out):
    public_key: str = Field(description="applicationServerKey for PushManager.subscribe().")


# -- inbox and deliveries --------------------------------------------------------------
class InboxItemOut(_Out):
    id: str
    event_type: str
    severity: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: str
    read: bool
    read_at: str | None


class InboxPage(_Out):
    items: list[InboxItemOut]
    next_cursor: str | None = Field(description="Pass as `before` for the next page.")
    unread: int


class DeliveryOut(_Out):
    id: str
    event_type: str
    severity: str
    channel: str
    recipient: str
    state: Literal["queued", "sending", "sent", "delivered", "failed", "dead"]
    attempts: int
    reason: str | None = Field(description="The provider's words on the last failure.")
    created_at: str
    updated_at: str
    next_attempt_at: str | None
    held_until: str | None = Field(description="Quiet hours hold it until then.")
    sent_at: str | None
    delivered_at: str | None


class DeliveryPage(_Out):
    items: list[DeliveryOut]
    next_cursor: str | None


class TestIn(_In):
    channel: str
    message: str = Field("This is a test message.", max_length=500)


class TestOut(_Out):
    deliveries: list[DeliveryOut]


# -- templates -------------------------------------------------------------------------
class TemplateIn(_In):
    event_type: str = Field(max_length=40)
    channel: str = Field(max_length=16)
    locale: str = Field(max_length=35)
    subject: str
    body: str
    html: str | None = None


class TemplateOut(_Out):
    id: str
    event_type: str
    channel: str
    locale: str
    subject: str
    body: str
    html: str | None
    scope: Literal["builtin", "platform", "organisation"]
    version: int
    updated_at: str | None
    updated_by: str | None


class PreviewIn(_In):
    data: dict[str, Any] = Field(default_factory=dict, description="Overrides sample values.")
    severity: str | None = None


class PreviewOut(_Out):
    subject: str
    body: str
    html: str | None


class EventTypeOut(_Out):
    name: str
    description: str
    severity: str
    transactional: bool
    variables: list[str]
    sample: dict[str, Any]


# -- price alerts ----------------------------------------------------------------------
class PriceAlertIn(_In):
    instrument: str = Field(max_length=80, description="Canonical id, e.g. BTC-USDT.binance.")
    condition: str = Field(description="above | below | cross | move_up | move_down | move")
    level: str | None = Field(None, max_length=64, description="Decimal string (level kinds).")
    pct: str | None = Field(None, max_length=16, description="Percent (move kinds).")
    window_s: int | None = Field(None, description="Move window, 1 s to 7 days.")
    repeat: bool = Field(False, description="Re-arm after firing instead of firing once.")
    cooldown_s: int = Field(60, description="Minimum seconds between two firings.")
    note: str = Field("", max_length=200)


class PriceAlertOut(_Out):
    id: str
    instrument: str
    condition: str
    level: str | None
    pct: str | None
    window_s: int | None
    repeat: bool
    cooldown_s: int
    note: str
    state: Literal["active", "fired"]
    fired_count: int
    last_fired_at: str | None
    last_price: str | None
    created_at: str
