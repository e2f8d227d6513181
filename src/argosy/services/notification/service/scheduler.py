"""Periodic work: send digests that are due, and forget finished deliveries.

A digest is due `interval` after its first item, or, when the user chose a time of day,
at the next such time in their zone after the first item (domain/schedule.py).

A digest is one transaction: its items are read (PostgreSQL: locked, skipping any another
instance holds), rendered into one message queued like any other (so quiet hours still
apply to it), and deleted. Its idempotency key names the last item, so two instances
racing on SQLite or a crash after commit cannot send it twice.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from argosy.kernel.clock import NS_PER_MS, ns_to_iso
from argosy.platform.db.tables import processed_table
from argosy.services.notification.domain.catalog import check_channel
from argosy.services.notification.domain.notices import Notice
from argosy.services.notification.domain.routing import Digest
from argosy.services.notification.domain.schedule import digest_due_ns
from argosy.services.notification.service._context import Deps
from argosy.services.notification.service._prefs import to_domain
from argosy.services.notification.service.dispatcher import Dispatcher
from argosy.services.notification.service.intake import CONSUMER, Intake

__all__ = ["Scheduler"]

log = structlog.get_logger("argosy.notification.scheduler")

_PURGE_EVERY_S = 600.0
_PROCESSED_KEEP_S = 8 * 86400  # longer than any stream keeps a message for redelivery


class Scheduler:
    def __init__(self, deps: Deps, intake: Intake, dispatcher: Dispatcher | None = None) -> None:
        self.d, self._intake, self._dispatcher = deps, intake, dispatcher

    async def run(self) -> None:
        last_purge = 0.0
        while True:
            try:
                if await self.flush_digests():
                    self.d.wake()
                if time.monotonic() - last_purge > _PURGE_EVERY_S:
                    await self.purge()
                    last_purge = time.monotonic()
                if self._dispatcher is not None:
                    await self._dispatcher.report_depth()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("notification.scheduler_failed", error=str(exc)[:300])
            await asyncio.sleep(self.d.settings.scheduler_tick_s)

    async def flush_digests(self) -> int:
        """Queue every digest whose collection window has closed; returns how many."""
        now = self.d.now()
        async with self.d.db.read() as s:
            heads = await self.d.store.digest_heads(s)
            plans: dict[str, tuple[Digest, str]] = {}
            for user_id in {u for u, _, _ in heads}:
                prefs = to_domain(await self.d.store.preferences(s, user_id),
                                  self.d.settings.default_locale)
                plans[user_id] = (prefs.digest or Digest(), prefs.timezone)
        sent = 0
        for user_id, channel, first_ns in heads:
            digest, zone = plans[user_id]
            if now >= digest_due_ns(first_ns, digest.interval_s, digest.at, zone):
                sent += await self._flush(user_id, channel)
        return sent

    async def _flush(self, user_id: str, channel: str) -> int:
        d = self.d
        async with d.db.transaction() as s:
            items = list(await d.store.digest_items(s, user_id, channel))
            if not items:
                return 0
            listed = [{"event_type": i.event_type, "severity": i.severity, "title": i.title,
                       "body": i.body, "at": ns_to_iso(i.created_ns)} for i in items]
            notice = Notice("digest", "info", user_id, items[0].org_id,
                            d.now() // NS_PER_MS, {"count": len(items), "items": listed},
                            {"count": len(items), "items": listed})
            await self._intake.enqueue(s, notice, f"digest:{user_id}:{channel}:{items[-1].id}",
                                       channels=(check_channel(channel),))
            await d.store.drop_digest_items(s, [i.id for i in items])
        log.info("notification.digest_queued", user_id=user_id, channel=channel,
                 items=len(items))
        return 1

    async def purge(self) -> None:
        d = self.d
        cutoff = d.now() - d.settings.retention_days * 86400 * 1_000_000_000
        async with d.db.transaction() as s:
            removed = await d.store.purge_deliveries(s, cutoff)
            await s.execute(processed_table.delete().where(
                processed_table.c.consumer == CONSUMER,
                processed_table.c.processed_ns < time.time_ns() - _PROCESSED_KEEP_S * 10**9))
        if removed:
            log.info("notification.purged", deliveries=removed)
