"""The queue's worker: claim due deliveries, send them through their channel, record the
result. Runs in every instance; claims keep instances from sending the same row.

Pipeline, so one slow provider does not stall the rest: a claimer keeps up to `workers`
rows in flight, `workers` senders each take one row at a time (after a token from the
channel's rate-limit bucket, shared by all instances through the cache), and a recorder
writes results in batches (one transaction for many rows matters on SQLite's single
writer). Intake wakes the claimer after each commit; otherwise it sleeps until the next
row is due, at most `poll_s` (rows queued by other instances). On shutdown, rows not yet
started are handed back at once and sends in progress get a few seconds to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import select

from argosy.kernel.clock import Clock
from argosy.platform.cache.base import Cache
from argosy.platform.crypto import DecryptionError, SecretBox
from argosy.platform.db.engine import Database
from argosy.platform.metrics import Metrics
from argosy.services.notification.channels.base import Message, Sender
from argosy.services.notification.domain.outcomes import Outcome, Reject, Retry, decide
from argosy.services.notification.models import (
    DeliveryRow,
    PreferencesRow,
    PushSubscriptionRow,
)
from argosy.services.notification.queue import DeliveryQueue, Finish
from argosy.services.notification.service._context import Tunables, secret_aad

__all__ = ["DispatchMetrics", "Dispatcher", "QueueOptions"]

log = structlog.get_logger("argosy.notification.dispatch")

_SHUTDOWN_GRACE_S = 5.0
_LINGER_S = 0.002


class DispatchMetrics:
    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.outcomes = Counter("argosy_notification_deliveries_total",
                                "Delivery attempts by channel and outcome",
                                ["channel", "outcome"], registry=r)
        self.latency = Histogram("argosy_notification_delivery_seconds",
                                 "From intake to sent/delivered/dead", ["channel"],
                                 buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
                                          300, 3600), registry=r)
        self.depth = Gauge("argosy_notification_queue_depth", "Deliveries by state",
                           ["state"], registry=r)


@dataclass(frozen=True)
class QueueOptions:
    workers: int = 32
    batch: int = 64
    lease_s: float = 120.0
    poll_s: float = 0.5


class Dispatcher:
    def __init__(self, db: Database, queue: DeliveryQueue, senders: Mapping[str, Sender],
                 cache: Cache, tunables: Tunables, clock: Clock, box: SecretBox,
                 options: QueueOptions, metrics: DispatchMetrics | None = None, *,
                 rand: Callable[[], float] = random.random) -> None:
        self._db, self._queue, self._senders = db, queue, senders
        self._cache, self._tunables, self._clock, self._box = cache, tunables, clock, box
        self._o, self._metrics, self._rand = options, metrics, rand
        self._work: asyncio.Queue[tuple[DeliveryRow, Message]] = asyncio.Queue()
        self._results: asyncio.Queue[Finish] = asyncio.Queue()
        self._inflight = 0
        self._drained = asyncio.Event()  # set while nothing is in flight
        self._drained.set()
        self._wake = asyncio.Event()
        self._cache_warned = False
        self._next_hint_ns: int | None = None  # the earliest retry the recorder scheduled

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        helpers = [asyncio.create_task(self._sender(), name=f"notify-send-{i}")
                   for i in range(self._o.workers)]
        helpers.append(asyncio.create_task(self._recorder(), name="notify-record"))
        try:
            await self._claimer()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._hand_back())
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)

    # -- claiming ----------------------------------------------------------------------
    async def _claimer(self) -> None:
        backoff = 0.2
        while True:
            self._wake.clear()
            room = min(self._o.batch, self._o.workers - self._inflight)
            if room > 0:
                try:
                    claimed = await self._claim(room)
                    backoff = 0.2
                except Exception as exc:
                    log.warning("notification.claim_failed", error=str(exc)[:300])
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                if claimed == room:
                    continue  # probably more are due
            timeout = self._o.poll_s
            if self._next_hint_ns is not None:
                timeout = min(timeout, max(0.0, (self._next_hint_ns - self._clock.now_ns()) / 1e9))
                self._next_hint_ns = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):  # not wait_for: 3.11's can eat a cancel
                    await self._wake.wait()
            # under load many commits wake us at once: a moment's pause claims them together
            await asyncio.sleep(_LINGER_S)

    async def _claim(self, limit: int) -> int:
        rows = await self._queue.claim(self._clock.now_ns(), limit, self._o.lease_s)
        if not rows:
            return 0
        for row, message in await self._prepare(rows):
            self._inflight += 1
            self._drained.clear()
            self._work.put_nowait((row, message))
        return len(rows)

    async def _prepare(self, rows: Sequence[DeliveryRow]) -> list[tuple[DeliveryRow, Message]]:
        """Load what a send needs besides the row: webhook secrets, push keys."""
        hook_users = {r.user_id for r in rows if r.channel == "webhook"}
        sub_ids = {r.recipient_ref for r in rows if r.channel == "push" and r.recipient_ref}
        sealed: dict[str, str | None] = {}
        keys: dict[str, tuple[str, str]] = {}
        if hook_users or sub_ids:
            async with self._db.read() as s:
                if hook_users:
                    q = select(PreferencesRow.user_id, PreferencesRow.webhook_secret_sealed)
                    for uid, value in (await s.execute(
                            q.where(PreferencesRow.user_id.in_(hook_users)))).all():
                        sealed[uid] = value
                if sub_ids:
                    q2 = select(PushSubscriptionRow).where(PushSubscriptionRow.id.in_(sub_ids))
                    for sub in (await s.scalars(q2)).all():
                        keys[sub.id] = (sub.p256dh, sub.auth)
        out = []
        for row in rows:
            secret = None
            if row.channel == "webhook" and sealed.get(row.user_id):
                try:
                    secret = self._box.decrypt(str(sealed[row.user_id]),
                                               secret_aad(row.user_id)).encode()
                except DecryptionError:
                    log.error("notification.webhook_secret_unreadable", user_id=row.user_id)
            out.append((row, Message(
                id=row.id, channel=row.channel, recipient=row.recipient, subject=row.subject,
                body=row.body, html=row.html, event_type=row.event_type, severity=row.severity,
                user_id=row.user_id, created_ns=row.created_ns, data=row.data or {},
                secret=secret, push_keys=keys.get(row.recipient_ref or ""))))
        return out

    # -- sending -----------------------------------------------------------------------
    async def _sender(self) -> None:
        while True:
            row, message = await self._work.get()
            try:
                finish = await self._deliver(row, message)
            except Exception as exc:  # a bug in a sender must not lose the row
                log.error("notification.send_crashed", channel=row.channel, exc_info=True)
                finish = self._finish(row, Retry(f"internal error: {type(exc).__name__}"))
            self._results.put_nowait(finish)

    async def _deliver(self, row: DeliveryRow, message: Message) -> Finish:
        sender = self._senders.get(row.channel)
        if sender is None:
            return self._finish(row, Reject(f"unknown channel {row.channel!r}"))
        wait = await self._throttle(row.channel)
        if wait is not None:
            return Finish(row.id, str(row.claim_token),
                          requeue_at_ns=self._clock.now_ns() + int(wait * 1e9))
        try:
            async with asyncio.timeout(self._o.lease_s / 2):
                outcome = await sender.send(message)
        except TimeoutError:
            outcome = Retry("send timed out")
        return self._finish(row, outcome)

    def _finish(self, row: DeliveryRow, outcome: Outcome) -> Finish:
        now = self._clock.now_ns()
        transition = decide(outcome, row.attempts, self._tunables.policy(), now, self._rand)
        if self._metrics is not None:
            self._metrics.outcomes.labels(row.channel, transition.state).inc()
            if transition.state != "failed":
                self._metrics.latency.labels(row.channel).observe((now - row.created_ns) / 1e9)
        if transition.state == "dead":
            log.warning("notification.dead_letter", delivery_id=row.id, channel=row.channel,
                        attempts=row.attempts, reason=transition.reason)
        gone = row.recipient_ref if isinstance(outcome, Reject) and outcome.gone else None
        return Finish(row.id, str(row.claim_token), transition, forget_push=gone)

    async def _throttle(self, channel: str) -> float | None:
        """None when a token was granted; else seconds until one will be."""
        limit = self._tunables.rate(channel)
        if limit is None:
            return None
        for _ in range(20):
            try:
                grant = await self._cache.take_tokens(f"rate:{channel}", rate=limit.per_s,
                                                      burst=limit.burst)
            except Exception as exc:  # no cache: send unthrottled rather than not at all
                if not self._cache_warned:
                    log.warning("notification.rate_limit_unavailable", error=str(exc)[:200])
                    self._cache_warned = True
                return None
            if grant.allowed:
                return None
            if grant.retry_after > 1.0:
                return grant.retry_after
            await asyncio.sleep(grant.retry_after)
        return 1.0

    # -- recording ---------------------------------------------------------------------
    async def _recorder(self) -> None:
        while True:
            batch = [await self._results.get()]
            while not self._results.empty() and len(batch) < 256:
                batch.append(self._results.get_nowait())
            await self._record(batch)

    async def _record(self, batch: list[Finish]) -> None:
        for attempt in range(5):
            try:
                await self._queue.finish(batch, self._clock.now_ns())
                break
            except Exception as exc:  # the rows stay leased and are retried after the lease
                log.warning("notification.record_failed", attempt=attempt + 1,
                            error=str(exc)[:300])
                await asyncio.sleep(0.2 * 2**attempt)
        was_full = self._inflight >= self._o.workers
        self._inflight -= len(batch)
        if self._inflight == 0:
            self._drained.set()
        for f in batch:
            at = f.requeue_at_ns if f.transition is None else f.transition.next_attempt_ns
            if at is not None:
                self._next_hint_ns = at if self._next_hint_ns is None else min(
                    self._next_hint_ns, at)
        if was_full or self._next_hint_ns is not None:
            self._wake.set()  # room again, or a new due time to sleep towards

    async def _hand_back(self) -> None:
        """Shutdown: return rows not started; give sends in progress a moment."""
        while not self._work.empty():
            row, _ = self._work.get_nowait()
            self._results.put_nowait(Finish(row.id, str(row.claim_token),
                                            requeue_at_ns=self._clock.now_ns()))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_SHUTDOWN_GRACE_S):
                await self._drained.wait()

    async def report_depth(self) -> None:
        if self._metrics is None:
            return
        depth = await self._queue.depth()
        for state in ("queued", "failed", "sending"):
            self._metrics.depth.labels(state).set(depth.get(state, 0))
