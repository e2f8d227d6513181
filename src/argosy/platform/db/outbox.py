"""Transactional outbox: events are rows written in the use-case's own transaction, and a
relay publishes them after commit. A crash can delay an event, never lose or invent one.

The relay publishes in id order with the row's msg_id as the bus dedupe key, so a row
republished after a crash between publish and mark is dropped by JetStream (and consumers
are idempotent anyway). On PostgreSQL, several instances share the work with
SELECT ... FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.platform.bus.base import Bus
from argosy.platform.db.engine import Database
from argosy.platform.db.tables import outbox_table
from argosy.platform.metrics import Metrics

__all__ = ["Outbox", "OutboxRelay"]

log = structlog.get_logger("argosy.outbox")


class Outbox:
    """Adds events to the current transaction; the relay sends them after commit."""

    def __init__(self, *, clock_ns: Callable[[], int] = time.time_ns, bus: Bus) -> None:
        self._clock_ns = clock_ns
        self._bus = bus  # only for building headers (correlation id, source)

    async def add(
        self,
        session: AsyncSession,
        topic: str,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> str:
        from argosy.contracts.topics import validate_topic

        validate_topic(topic)
        mid = msg_id or uuid.uuid4().hex
        data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        await session.execute(
            outbox_table.insert().values(
                msg_id=mid, topic=topic, payload=data,
                headers=self._bus.outgoing_headers(headers),
                created_ns=self._clock_ns(), attempts=0,
            )
        )
        session.info["outbox"] = True
        return mid


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        metrics: Metrics | None = None,
        batch: int = 200,
        idle_poll_s: float = 5.0,
        retention_s: float = 86400.0,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._db, self._bus, self._metrics = db, bus, metrics
        self._batch, self._idle_poll_s, self._retention_s = batch, idle_poll_s, retention_s
        self._clock_ns = clock_ns
        self._wake = asyncio.Event()
        self._stalled = False  # the last batch stopped at a row the bus refused
        db.on_commit(self.wake)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Publish forever; errors back off and retry (the rows stay until published)."""
        backoff = 0.2
        last_purge = last_gauge = 0.0
        while True:
            try:
                # clear before reading, so a commit that lands during the batch wakes us again
                self._wake.clear()
                sent = await self.publish_batch()
                if self._stalled:  # the bus refused a row: back off, not the idle poll
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                backoff = 0.2
                now = time.monotonic()
                if now - last_purge > 600:
                    await self.purge()
                    last_purge = now
                if now - last_gauge > 15:
                    await self.pending()
                    last_gauge = now
                if sent < self._batch:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
                    # that races with the wake-up, and shutdown would hang.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._idle_poll_s):
                            await self._wake.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox.relay_error", error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def publish_batch(self) -> int:
        """Publish up to one batch in order; stop at the first failure to keep order.

        PostgreSQL: rows are locked (FOR UPDATE SKIP LOCKED) for the whole batch, so several
        instances share the work. SQLite has a single writer: the batch is read and published
        without holding the write lock (a slow or absent broker must never stall the
        service's own writes), and only marking the rows takes the lock, briefly.
        """
        self._stalled = False
        if self._db.kind == "postgresql":
            async with self._db.transaction() as session:
                rows = await self._pending_rows(session, lock=True)
                done, failed = await self._publish(rows)
                await self._mark(session, done, failed)
        else:
            async with self._db.read() as session:
                rows = await self._pending_rows(session, lock=False)
            done, failed = await self._publish(rows)
            if done or failed:
                async with self._db.transaction() as session:
                    await self._mark(session, done, failed)
        if self._metrics is not None and done:
            self._metrics.outbox_published.labels(self._metrics.service).inc(len(done))
        return len(done)

    async def _pending_rows(self, session: AsyncSession, *, lock: bool) -> list[Any]:
        query = (
            select(outbox_table)
            .where(outbox_table.c.published_ns.is_(None))
            .order_by(outbox_table.c.id)
            .limit(self._batch)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return list((await session.execute(query)).all())

    async def _publish(self, rows: list[Any]) -> tuple[list[int], tuple[int, str] | None]:
        done: list[int] = []
        for row in rows:
            try:
                await self._bus.publish(
                    row.topic, row.payload, headers=row.headers, msg_id=row.msg_id
                )
            except Exception as exc:
                log.warning("outbox.publish_failed", topic=row.topic, error=str(exc))
                self._stalled = True
                return done, (row.id, str(exc)[:500])
            done.append(row.id)
        return done, None

    async def _mark(
        self, session: AsyncSession, done: list[int], failed: tuple[int, str] | None
    ) -> None:
        if done:
            await session.execute(
                update(outbox_table)
                .where(outbox_table.c.id.in_(done))
                .values(published_ns=self._clock_ns())
            )
        if failed is not None:
            await session.execute(
                update(outbox_table)
                .where(outbox_table.c.id == failed[0])
                .values(attempts=outbox_table.c.attempts + 1, last_error=failed[1])
            )

    async def pending(self) -> int:
        async with self._db.read() as session:
            count = await session.scalar(
                select(func.count()).where(outbox_table.c.published_ns.is_(None))
            )
        n = int(count or 0)
        if self._metrics is not None:
            self._metrics.outbox_pending.labels(self._metrics.service).set(n)
        return n

    async def purge(self) -> int:
        cutoff = self._clock_ns() - int(self._retention_s * 1e9)
        async with self._db.transaction() as session:
            result = await session.execute(
                delete(outbox_table).where(
                    outbox_table.c.published_ns.is_not(None),
                    outbox_table.c.published_ns < cutoff,
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)
