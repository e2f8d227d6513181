"""A user's own preferences, browser push subscriptions and test messages."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.clock import ns_to_iso
from argosy.kernel.errors import Invalid, NotFound, RateLimited, Unavailable
from argosy.kernel.ids import new_id
from argosy.platform.crypto import DecryptionError
from argosy.services.notification.domain import addresses as addr
from argosy.services.notification.domain.catalog import check_channel, check_severity
from argosy.services.notification.domain.notices import Notice
from argosy.services.notification.domain.routing import (
    DEFAULT_SEVERITY_CHANNELS,
    Digest,
    check_event_routes,
    check_severity_routes,
)
from argosy.services.notification.domain.schedule import QuietHours, parse_clock
from argosy.services.notification.models import PreferencesRow, PushSubscriptionRow
from argosy.services.notification.schemas import (
    DigestOut,
    PreferencesIn,
    PreferencesOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    QuietHoursOut,
    TestIn,
    TestOut,
)
from argosy.services.notification.service._context import Caller, Deps, secret_aad
from argosy.services.notification.service._prefs import new_row, to_domain
from argosy.services.notification.service._views import delivery_out
from argosy.services.notification.service.intake import Intake

__all__ = ["PreferencesService"]


def _b64(value: str, field: str, size: int) -> str:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise Invalid("not base64url", field=field) from None
    if len(raw) != size or (size == 65 and raw[0] != 4):
        raise Invalid(f"must decode to {size} bytes"
                      + (" (an uncompressed P-256 point)" if size == 65 else ""), field=field)
    return value


class PreferencesService:
    def __init__(self, deps: Deps, intake: Intake) -> None:
        self.d, self._intake = deps, intake

    async def get(self, c: Caller) -> PreferencesOut:
        c.require("notifications:read")
        async with self.d.db.read() as s:
            row = await self.d.store.preferences(s, c.user_id)
            pushes = len(await self.d.store.push_subscriptions(s, c.user_id))
        return self._out(row, c, pushes)

    def _out(self, row: PreferencesRow | None, c: Caller, pushes: int,
             secret: str | None = None) -> PreferencesOut:
        prefs = to_domain(row if row and row.org_id == c.org else None,
                          self.d.settings.default_locale)
        severity = {k: list(prefs.severity_channels.get(k, v))
                    for k, v in DEFAULT_SEVERITY_CHANNELS.items()}
        hint = None
        if row is not None and row.webhook_secret_sealed:
            try:
                hint = "whsec_…" + self.d.box.decrypt(row.webhook_secret_sealed,
                                                      secret_aad(row.user_id))[-4:]
            except DecryptionError:
                hint = "unreadable: save the webhook URL with rotate_webhook_secret"
        q, dg = prefs.quiet_hours, prefs.digest
        return PreferencesOut(
            locale=prefs.locale, timezone=prefs.timezone, email=prefs.email, phone=prefs.phone,
            telegram_chat_id=prefs.telegram_chat_id, webhook_url=prefs.webhook_url,
            webhook_secret=secret, webhook_secret_hint=hint,
            events={k: list(v) for k, v in prefs.events.items()}, severity_channels=severity,
            quiet_hours=QuietHoursOut(start=q.start.strftime("%H:%M"),
                                      end=q.end.strftime("%H:%M")) if q else None,
            digest=DigestOut(interval_minutes=dg.interval_s // 60,
                             severities=sorted(dg.severities),
                             time=dg.at.strftime("%H:%M") if dg.at else None) if dg else None,
            push_subscriptions=pushes, channels=dict(self.d.problems),
            saved=bool(row and row.saved))

    async def put(self, c: Caller, body: PreferencesIn) -> PreferencesOut:
        """Replace the preferences; every field is checked before anything is written."""
        c.require("notifications:write")
        st = self.d.settings
        tz = addr.check_timezone(body.timezone)
        locale = addr.check_locale(body.locale)
        email = addr.check_email(body.email) if body.email else None
        phone = addr.check_phone(body.phone) if body.phone else None
        chat = addr.check_telegram_chat(body.telegram_chat_id) if body.telegram_chat_id else None
        hook = addr.check_webhook_url(
            body.webhook_url, allow_private=st.webhook_allow_private_networks,
            allow_http=st.webhook_allow_http) if body.webhook_url else None
        events = check_event_routes(body.events)
        severities = check_severity_routes(body.severity_channels)
        quiet = None
        if body.quiet_hours is not None:
            quiet = QuietHours(parse_clock(body.quiet_hours.start, "quiet_hours.start"),
                               parse_clock(body.quiet_hours.end, "quiet_hours.end"), tz)
        digest = None
        if body.digest is not None:
            digest = Digest(body.digest.interval_minutes * 60, frozenset(
                check_severity(v, f"digest.severities[{i}]")
                for i, v in enumerate(body.digest.severities)),
                parse_clock(body.digest.time, "digest.time") if body.digest.time else None)
        now = self.d.now()
        shown: str | None = None
        async with self.d.db.transaction() as s:
            row = await self.d.store.preferences(s, c.user_id, lock=True)
            if row is None:
                row = new_row(c.user_id, c.org, locale, now)
                s.add(row)
            row.org_id = c.org
            if hook and (body.rotate_webhook_secret or not row.webhook_secret_sealed):
                shown = "whsec_" + secrets.token_urlsafe(32)
                row.webhook_secret_sealed = self.d.box.encrypt(shown, secret_aad(c.user_id))
            if not hook:
                row.webhook_secret_sealed = None
            row.locale, row.timezone, row.email, row.phone = locale, tz, email, phone
            row.telegram_chat_id, row.webhook_url = chat, hook
            row.events = {k: list(v) for k, v in events.items()}
            row.severity_channels = {k: list(v) for k, v in severities.items()}
            row.quiet_start = quiet.start.strftime("%H:%M") if quiet else None
            row.quiet_end = quiet.end.strftime("%H:%M") if quiet else None
            row.digest_interval_s = digest.interval_s if digest else None
            row.digest_severities = sorted(digest.severities) if digest else ["info"]
            row.digest_time = digest.at.strftime("%H:%M") if digest and digest.at else None
            row.saved, row.updated_ns = True, now
            await self._rehold(s, c.user_id, quiet, now)
            pushes = len(await self.d.store.push_subscriptions(s, c.user_id))
        self.d.wake()
        return self._out(row, c, pushes, shown)

    async def _rehold(self, s: AsyncSession, user_id: str, quiet: QuietHours | None,
                      now: int) -> None:
        """Held messages follow the new quiet hours: released now, or held to the new end."""
        until = quiet.until_ns(now) if quiet else None
        for row in await self.d.store.held(s, user_id):
            if row.severity == "critical":
                continue
            row.held_until_ns = until
            row.next_attempt_ns = until or now
            row.updated_ns = now

    # -- push subscriptions ------------------------------------------------------------
    def push_key(self) -> str:
        return self.d.vapid_public_key

    async def subscribe_push(self, c: Caller, body: PushSubscriptionIn,
                             user_agent: str) -> tuple[PushSubscriptionOut, bool]:
        c.require("notifications:write")
        st = self.d.settings
        endpoint = addr.check_webhook_url(body.endpoint, "endpoint",
                                          allow_private=st.webhook_allow_private_networks,
                                          allow_http=st.webhook_allow_http)
        p256dh = _b64(body.keys.p256dh, "keys.p256dh", 65)
        auth = _b64(body.keys.auth, "keys.auth", 16)
        digest = hashlib.sha256(endpoint.encode()).hexdigest()
        now = self.d.now()
        async with self.d.db.transaction() as s:
            row = await self.d.store.push_by_endpoint(s, digest)
            created = row is None
            if row is None:
                if len(await self.d.store.push_subscriptions(s, c.user_id)) >= 20:
                    raise Invalid("at most 20 browsers per user", field="endpoint")
                row = PushSubscriptionRow(id=new_id("psub"), endpoint_hash=digest,
                                          endpoint=endpoint, created_ns=now)
                s.add(row)
            # a browser profile re-subscribing (or now signed in as someone else) takes over
            row.user_id, row.org_id, row.p256dh, row.auth = c.user_id, c.org, p256dh, auth
            row.user_agent = user_agent[:512]
        return PushSubscriptionOut(id=row.id, endpoint=addr.mask_address("push", endpoint),
                                   created_at=ns_to_iso(row.created_ns)), created

    async def unsubscribe_push(self, c: Caller, sub_id: str) -> None:
        c.require("notifications:write")
        async with self.d.db.transaction() as s:
            row = await self.d.store.push_subscription(s, sub_id)
            if row is None or row.user_id != c.user_id or row.org_id != c.org:
                raise NotFound("no such push subscription", field="subscription_id")
            await self.d.store.drop_push_subscription(s, sub_id)

    # -- test messages -----------------------------------------------------------------
    async def test(self, c: Caller, body: TestIn) -> TestOut:
        c.require("notifications:write")
        channel = check_channel(body.channel)
        problem = self.d.problems.get(channel)
        if problem:
            raise Unavailable(problem, dependency=channel)
        limit = self.d.settings.test_sends_per_hour
        grant = await self.d.cache.take_tokens(f"test:{c.user_id}", rate=limit / 3600,
                                               burst=min(limit, 5))
        if not grant.allowed:
            raise RateLimited("too many test messages", retry_after=grant.retry_after)
        event_id = new_id("test")
        notice = Notice("test", "info", c.user_id, c.org, self.d.now() // 1_000_000,
                        {"channel": channel, "message": body.message},
                        {"channel": channel, "message": body.message})
        async with self.d.db.transaction() as s:
            row = await self.d.store.preferences(s, c.user_id)
            prefs = to_domain(row, self.d.settings.default_locale)
            if channel == "push" and not await self.d.store.push_subscriptions(s, c.user_id):
                raise Invalid("no browser is subscribed to push", field="channel")
            if prefs.address(channel) is None:
                raise Invalid(f"no {channel} address in your preferences", field="channel")
            queued = await self._intake.enqueue(s, notice, event_id, channels=(channel,),
                                                immediate=True)
        self.d.wake()
        return TestOut(deliveries=[delivery_out(q) for q in queued])

