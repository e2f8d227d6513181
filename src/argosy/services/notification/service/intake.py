"""From an event to rows: inbox entries, digest items and queued deliveries.

Each event is recorded in the processed-message table in the same transaction as its rows
(platform/db/inbox.py), so a redelivered or replayed event (same msg_id) is applied once.
Events that arrive together (several group members deliver concurrently) share one
transaction: a commit costs more than the work of one event, so batching them multiplies
intake throughput; a handler returns (and the bus acks) only after its batch committed.
A batch that fails is retried one event per transaction, so one bad event cannot hold
back the others. Each delivery also carries an idempotency key (event id, channel,
recipient) that the table keeps unique, so even a replay that slipped past the processed
log cannot queue a second send. Messages are rendered here, at intake: what was queued is
what goes out, even if a template changes while the provider is down.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.clock import NS_PER_MS, ns_to_iso
from argosy.kernel.errors import Invalid
from argosy.kernel.ids import new_id
from argosy.platform.bus.base import Envelope
from argosy.platform.db.inbox import first_time
from argosy.services.notification.domain.catalog import Channel, event_type
from argosy.services.notification.domain.notices import Notice, notice_from
from argosy.services.notification.domain.routing import Step, fingerprint, plan
from argosy.services.notification.models import DigestItemRow, InboxRow, PreferencesRow
from argosy.services.notification.rendering import Parts, context
from argosy.services.notification.service._context import Deps
from argosy.services.notification.service._prefs import new_row, to_domain

__all__ = ["CONSUMER", "Intake", "Queued"]

log = structlog.get_logger("argosy.notification.intake")

CONSUMER = "notification.intake"
Queued = dict[str, Any]  # the delivery row's values, as inserted


_Pending = tuple[str, Notice, "asyncio.Future[None]"]
_MAX_BATCH = 200


class Intake:
    def __init__(self, deps: Deps) -> None:
        self.d = deps
        self._pending: list[_Pending] = []
        self._flushing = False
        self._flusher: asyncio.Task[None] | None = None

    async def on_event(self, env: Envelope) -> None:
        """Bus handler for every consumed topic (a durable group: at least once)."""
        try:
            notice = notice_from(env.topic, env.json(), self.d.settings.base_url)
        except (Invalid, ValueError) as exc:
            log.error("notification.event_rejected", topic=env.topic,
                      error=getattr(exc, "message", type(exc).__name__))
            return
        if notice is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((env.msg_id, notice, done))
        if not self._flushing:
            self._flushing = True
            self._flusher = asyncio.create_task(self._flush(), name="notification-intake")
        await done

    async def _flush(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(0)  # let concurrent handlers join this batch
                batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
                await self._apply(batch)
        except BaseException:  # cancelled at shutdown: the waiting handlers fail (redelivery)
            for _, _, done in self._pending:
                if not done.done():
                    done.set_exception(RuntimeError("intake stopped"))
            self._pending = []
            raise
        finally:
            self._flushing = False

    async def _apply(self, batch: list[_Pending]) -> None:
        try:
            async with self.d.db.transaction() as s:
                queued = [await self._one_event(s, msg_id, notice)
                          for msg_id, notice, _ in batch]
        except Exception:
            if len(batch) > 1:
                for item in batch:  # find the bad one; the others still go through
                    await self._apply([item])
                return
            _, _, done = batch[0]
            if not done.done():
                done.set_exception(sys.exc_info()[1] or RuntimeError("intake failed"))
            return
        for _, _, done in batch:
            if not done.done():
                done.set_result(None)
        if any(queued):
            self.d.wake()

    async def _one_event(self, s: AsyncSession, msg_id: str, notice: Notice) -> bool:
        if not await first_time(s, CONSUMER, msg_id):
            return False
        return bool(await self.enqueue(s, notice, msg_id))

    async def enqueue(self, s: AsyncSession, notice: Notice, event_id: str, *,
                      channels: tuple[Channel, ...] | None = None, immediate: bool = False,
                      ) -> list[Queued]:
        """Queue what `notice` calls for, inside the caller's transaction."""
        d, now = self.d, self.d.now()
        row = await self._learn(s, notice, now)
        prefs = to_domain(row, notice.locale or d.settings.default_locale)
        et = event_type(notice.event_type)
        steps, skipped = plan(et, notice.severity, prefs, now, to=notice.to,
                              channels=channels, immediate=immediate)
        if skipped:
            log.info("notification.channels_skipped", event_type=et.name,
                     user_id=notice.user_id, skipped=skipped)
        locale = (notice.locale or prefs.locale) if et.transactional else prefs.locale
        ctx = context(et.name, notice.severity, notice.variables,
                      at=ns_to_iso(notice.at_ms * NS_PER_MS), app_name=d.settings.app_name,
                      base_url=d.settings.base_url)
        queued: list[Queued] = []
        for step in await self._expand(s, notice, steps):
            done = await self._one(s, notice, event_id, step, locale, ctx, now,
                                   dedupe=et.dedupe and not immediate)
            if done is not None:
                queued.append(done)
        return queued

    async def _learn(self, s: AsyncSession, notice: Notice, now: int) -> PreferencesRow | None:
        """Remember the address the users service vouches for, until the user saves
        preferences of their own (which then win)."""
        row = await self.d.store.preferences(s, notice.user_id)
        if notice.known_email is None or (row is not None and row.saved):
            return row
        if row is None:
            row = new_row(notice.user_id, notice.org,
                          notice.locale or self.d.settings.default_locale, now)
            s.add(row)
        if row.email != notice.known_email:
            row.email, row.updated_ns = notice.known_email, now
        return row

    async def _expand(self, s: AsyncSession, notice: Notice, steps: list[Step]) -> list[Step]:
        """One push step per browser subscription of the user."""
        out: list[Step] = []
        for step in steps:
            if step.channel != "push":
                out.append(step)
                continue
            for sub in await self.d.store.push_subscriptions(s, notice.user_id):
                out.append(Step("push", f"{sub.id} {sub.endpoint}", step.mode,
                                step.not_before_ns))
        return out

    async def parts(self, s: AsyncSession, org: str, event: str, channel: str,
                    locale: str) -> Parts:
        found = await self._override(s, org, event, channel, locale)
        return found if found is not None else self.d.renderer.builtin(event, channel, locale)

    async def _override(self, s: AsyncSession, org: str, event: str, channel: str,
                        locale: str) -> Parts | None:
        """An organisation's or the platform's template, cached for a few seconds: saves
        and deletes here clear the cache, other instances see them within the TTL."""
        key = (org, event, channel, locale)
        hit = self.d.templates.get(key)
        if hit is not None:
            return hit[0]
        row = await self.d.store.template_for(s, org, event, channel, locale)
        parts = Parts(row.subject, row.body, row.html) if row is not None else None
        self.d.templates.put(key, parts)
        return parts

    async def _render(self, s: AsyncSession, notice: Notice, channel: str, wanted: str,
                      ctx: Mapping[str, Any]) -> Parts:
        """The user's exact locale may have an organisation template (say `fr`); else the
        closest built-in locale, overridden or not."""
        locale = self.d.renderer.locale(wanted)
        exact = None
        if wanted != locale:
            exact = await self._override(s, notice.org, notice.event_type, channel, wanted)
        parts = exact or await self.parts(s, notice.org, notice.event_type, channel, locale)
        try:
            return self.d.renderer.render(parts, ctx)
        except Exception as exc:  # a stored template that fails on real data
            log.error("notification.template_failed", event_type=notice.event_type,
                      channel=channel, locale=locale, error=str(exc)[:300])
            builtin = self.d.renderer.builtin(notice.event_type, channel, locale)
            return self.d.renderer.render(builtin, ctx)

    async def _one(self, s: AsyncSession, notice: Notice, event_id: str, step: Step,
                   locale: str, ctx: Mapping[str, Any], now: int,
                   dedupe: bool) -> Queued | None:
        d = self.d
        ref, address = None, step.address
        if step.channel == "push":
            ref, address = step.address.split(" ", 1)
        text = await self._render(s, notice, step.channel, locale, ctx)
        fp = fingerprint(event_type(notice.event_type), notice.severity, notice.user_id,
                         step.channel, address, notice.variables)
        window = d.tunables.dedupe_window_s()
        if dedupe and window > 0 and await d.store.seen_recently(s, fp, now - int(window * 1e9)):
            log.info("notification.deduplicated", event_type=notice.event_type,
                     channel=step.channel, user_id=notice.user_id)
            return None
        if step.mode == "digest":
            s.add(DigestItemRow(
                user_id=notice.user_id, org_id=notice.org, channel=step.channel,
                recipient=address, event_type=notice.event_type, event_id=event_id,
                severity=notice.severity, title=text.subject, body=text.body, created_ns=now))
            return None
        data = dict(notice.data)
        inbox_id = new_id("ntf") if step.channel == "inapp" else None
        if inbox_id:
            data["inbox_id"] = inbox_id
        problem = d.problems.get(step.channel)
        key = hashlib.sha256(address.encode()).hexdigest()[:32]
        values: Queued = {
            "id": new_id("dlv"), "idempotency_key": f"{event_id[:180]}:{step.channel}:{key}",
            "org_id": notice.org, "user_id": notice.user_id, "event_type": notice.event_type,
            "event_id": event_id[:128], "severity": notice.severity, "channel": step.channel,
            "recipient": address, "recipient_ref": ref, "subject": text.subject,
            "body": text.body, "html": text.html if step.channel == "email" else None,
            "data": data, "fingerprint": fp, "state": "dead" if problem else "queued",
            "attempts": 0, "next_attempt_ns": step.not_before_ns or now,
            "held_until_ns": step.not_before_ns, "last_error": problem,
            "created_ns": now, "updated_ns": now,
        }
        if not await d.store.add_delivery(s, values):
            return None  # this event already queued this (channel, recipient)
        if inbox_id:
            await d.store.add_inbox(s, InboxRow(
                id=inbox_id, user_id=notice.user_id, org_id=notice.org,
                event_type=notice.event_type, severity=notice.severity, title=text.subject,
                body=text.body, data=dict(notice.data), created_ns=now))
        return values
