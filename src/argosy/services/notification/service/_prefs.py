"""Stored preferences ↔ the routing domain's `Preferences`."""

from __future__ import annotations

from argosy.services.notification.domain.catalog import check_channel, check_severity
from argosy.services.notification.domain.routing import Digest, Preferences
from argosy.services.notification.domain.schedule import QuietHours, parse_clock
from argosy.services.notification.models import PreferencesRow

__all__ = ["new_row", "to_domain"]


def to_domain(row: PreferencesRow | None, default_locale: str) -> Preferences:
    if row is None:
        return Preferences(locale=default_locale)
    quiet = None
    if row.quiet_start and row.quiet_end:
        quiet = QuietHours(parse_clock(row.quiet_start, "quiet_hours.start"),
                           parse_clock(row.quiet_end, "quiet_hours.end"), row.timezone)
    digest = None
    if row.digest_interval_s:
        digest = Digest(row.digest_interval_s,
                        frozenset(check_severity(s) for s in row.digest_severities),
                        parse_clock(row.digest_time, "digest.time") if row.digest_time
                        else None)
    return Preferences(
        locale=row.locale, timezone=row.timezone, email=row.email, phone=row.phone,
        telegram_chat_id=row.telegram_chat_id, webhook_url=row.webhook_url,
        events={k: tuple(check_channel(c) for c in v) for k, v in row.events.items()},
        severity_channels={check_severity(k): tuple(check_channel(c) for c in v)
                           for k, v in row.severity_channels.items()},
        quiet_hours=quiet, digest=digest,
    )


def new_row(user_id: str, org: str, locale: str, now: int) -> PreferencesRow:
    return PreferencesRow(
        user_id=user_id, org_id=org, locale=locale, timezone="UTC", events={},
        severity_channels={}, digest_severities=["info"], saved=False, created_ns=now,
        updated_ns=now,
    )
