"""Who gets what, where, and when: a user's preferences applied to one event.

Defaults route by severity (info → in-app only; warning → in-app + email; critical →
in-app + email + SMS); a user overrides per severity or per event type. Quiet hours hold
the interrupting channels (email, SMS, push, Telegram) until they end, except for
critical events; in-app and webhooks are never held (silent, or machines). Digests collect
low-severity events for the same interrupting channels. Transactional mail (verification,
reset, invite) and test messages skip all of it: the user is waiting for them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Final, Literal

from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.catalog import (
    EVENT_TYPES,
    Channel,
    EventType,
    Severity,
    check_channel,
    check_event_type,
    check_severity,
)
from argosy.services.notification.domain.schedule import QuietHours

__all__ = [
    "DEFAULT_SEVERITY_CHANNELS",
    "DIGEST_CHANNELS",
    "QUIET_CHANNELS",
    "Digest",
    "Preferences",
    "Step",
    "check_channel_list",
    "check_event_routes",
    "check_severity_routes",
    "fingerprint",
    "plan",
]

DEFAULT_SEVERITY_CHANNELS: Final[Mapping[Severity, tuple[Channel, ...]]] = {
    "info": ("inapp",),
    "warning": ("inapp", "email"),
    "critical": ("inapp", "email", "sms"),
}
QUIET_CHANNELS: Final = frozenset({"email", "sms", "push", "telegram"})
DIGEST_CHANNELS: Final = QUIET_CHANNELS


@dataclass(frozen=True, slots=True)
class Digest:
    """Batch low-severity events: every `interval_s` from the first one, or, when `at` is
    set, once a day at that time of day in the user's time zone."""

    interval_s: int = 3600
    severities: frozenset[Severity] = frozenset({"info"})
    at: time | None = None

    def __post_init__(self) -> None:
        if not 60 <= self.interval_s <= 7 * 86400:
            raise Invalid("digest interval must be 1 minute to 7 days",
                          field="digest.interval_minutes")
        if "critical" in self.severities:
            raise Invalid("critical events are never batched", field="digest.severities")


@dataclass(frozen=True)
class Preferences:
    locale: str = "en"
    timezone: str = "UTC"
    email: str | None = None
    phone: str | None = None
    telegram_chat_id: str | None = None
    webhook_url: str | None = None
    events: Mapping[str, tuple[Channel, ...]] = field(default_factory=dict)
    severity_channels: Mapping[Severity, tuple[Channel, ...]] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    digest: Digest | None = None

    def channels_for(self, event: str, severity: Severity) -> tuple[Channel, ...]:
        if event in self.events:
            return self.events[event]
        return self.severity_channels.get(severity, DEFAULT_SEVERITY_CHANNELS[severity])

    def address(self, channel: Channel) -> str | None:
        """The user's address on `channel`; push addresses are their browser subscriptions,
        which the service expands, and in-app needs none."""
        return {"email": self.email, "sms": self.phone, "telegram": self.telegram_chat_id,
                "webhook": self.webhook_url, "inapp": "inbox", "push": "push"}[channel]


@dataclass(frozen=True, slots=True)
class Step:
    channel: Channel
    address: str
    mode: Literal["send", "digest"] = "send"
    not_before_ns: int | None = None  # set while quiet hours hold it


def plan(event: EventType, severity: Severity, prefs: Preferences, now_ns: int, *,
         to: str | None = None, channels: tuple[Channel, ...] | None = None,
         immediate: bool = False) -> tuple[list[Step], list[str]]:
    """The deliveries for one event, and why any wanted channel was skipped.

    `to` is the event's own address for transactional mail. `channels` replaces the
    user's routing (a digest goes back to its channel; a test to the one asked for);
    `immediate` (tests) also skips quiet hours and digests.
    """
    if event.transactional:
        return ([Step("email", to)], []) if to else ([], ["email: the event has no address"])
    wanted = channels if channels is not None else prefs.channels_for(event.name, severity)
    quiet_end = None
    if prefs.quiet_hours is not None and severity != "critical" and not immediate:
        quiet_end = prefs.quiet_hours.until_ns(now_ns)
    batching = (not immediate and event.name != "digest" and prefs.digest is not None
                and severity in prefs.digest.severities)
    steps: list[Step] = []
    skipped: list[str] = []
    for channel in wanted:
        address = prefs.address(channel)
        if address is None:
            skipped.append(f"{channel}: no address in preferences")
            continue
        held = quiet_end if channel in QUIET_CHANNELS else None
        digest = batching and channel in DIGEST_CHANNELS
        steps.append(Step(channel, address, "digest" if digest else "send", held))
    return steps, skipped


def fingerprint(event: EventType, severity: str, user_id: str, channel: str, address: str,
                variables: Mapping[str, Any]) -> str:
    """Identical alerts share this: same user, type, severity, channel, recipient and
    content, whatever their ids (`volatile`) and times."""
    content = {k: v for k, v in variables.items() if k not in event.volatile}
    raw = "\x1f".join((user_id, event.name, severity, channel, address,
                       json.dumps(content, sort_keys=True, default=str)))
    return hashlib.sha256(raw.encode()).hexdigest()


def check_channel_list(values: list[str], field: str) -> tuple[Channel, ...]:
    seen: list[Channel] = []
    for i, value in enumerate(values):
        channel = check_channel(value, f"{field}[{i}]")
        if channel not in seen:
            seen.append(channel)
    return tuple(seen)


def check_event_routes(raw: Mapping[str, list[str]],
                       field: str = "events") -> dict[str, tuple[Channel, ...]]:
    out: dict[str, tuple[Channel, ...]] = {}
    for name, channels in raw.items():
        check_event_type(name, f"{field}.{name}")
        if EVENT_TYPES[name].transactional:
            raise Invalid(f"{name} mail always goes to the account's address",
                          field=f"{field}.{name}")
        out[name] = check_channel_list(channels, f"{field}.{name}")
    return out


def check_severity_routes(raw: Mapping[str, list[str]],
                          field: str = "severity_channels") -> dict[Severity, tuple[Channel, ...]]:
    out: dict[Severity, tuple[Channel, ...]] = {}
    for name, channels in raw.items():
        out[check_severity(name, f"{field}.{name}")] = check_channel_list(
            channels, f"{field}.{name}")
    return out

