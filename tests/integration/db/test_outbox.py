"""Transactional outbox and inbox on SQLite and PostgreSQL, relayed to a real MemoryBus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from sqlalchemy import select

from argosy.contracts import headers as h
from argosy.kernel.errors import Unavailable
from argosy.platform.bus.base import Envelope
from argosy.platform.bus.memory import MemoryBus
from argosy.platform.db.engine import Database
from argosy.platform.db.inbox import first_time
from argosy.platform.db.outbox import Outbox, OutboxRelay
from argosy.platform.db.tables import outbox_table
from argosy.platform.metrics import Metrics

DAY_NS = 86_400 * 10**9


class FlakyBus(MemoryBus):
    """A MemoryBus that refuses publishes while `down` (like a broker going away)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.down_after: int | None = None
        self.accepted = 0

    async def _publish(self, topic: str, data: bytes, headers: dict[str, str], msg_id: str) -> None:
        if self.down_after is not None and self.accepted >= self.down_after:
            raise Unavailable("broker gone", dependency="bus")
        await super()._publish(topic, data, headers, msg_id)
        self.accepted += 1


class Collector:
    def __init__(self) -> None:
        self.got: list[Envelope] = []
        self.changed = asyncio.Event()

    async def __call__(self, env: Envelope) -> None:
        self.got.append(env)
        self.changed.set()

    async def wait(self, n: int, within: float = 5.0) -> list[Envelope]:
        async with asyncio.timeout(within):
            while len(self.got) < n:
                self.changed.clear()
                await self.changed.wait()
        return self.got


@pytest.fixture
async def bus() -> AsyncIterator[FlakyBus]:
    b = FlakyBus(source="svc")
    await b.connect()
    yield b
    await b.close()


@pytest.fixture
async def collector(bus: FlakyBus) -> Collector:
    c = Collector()
    await bus.subscribe("trading.>", c)
    return c


async def add_events(db: Database, outbox: Outbox, n: int, start: int = 0) -> list[str]:
    ids = []
    async with db.transaction() as s:
        for i in range(start, start + n):
            ids.append(await outbox.add(s, "trading.fill.acc1", {"seq": i}))
    return ids


async def pending_rows(db: Database) -> list[Any]:
    async with db.read() as s:
        return list((await s.execute(
            select(outbox_table).where(outbox_table.c.published_ns.is_(None))
            .order_by(outbox_table.c.id)
        )).all())


async def test_rolled_back_events_are_never_published(
    db: Database, bus: FlakyBus, collector: Collector
) -> None:
    outbox, relay = Outbox(bus=bus), OutboxRelay(db, bus)

    async def failing_use_case() -> None:
        async with db.transaction() as s:
            await outbox.add(s, "trading.fill.acc1", {"seq": 0})
            raise RuntimeError("use-case failed")

    with pytest.raises(RuntimeError):
        await failing_use_case()
    assert await relay.publish_batch() == 0
    assert await relay.pending() == 0
    await asyncio.sleep(0.05)
    assert collector.got == []


async def test_committed_events_go_out_in_order_with_ids_and_correlation(
    db: Database, bus: FlakyBus, collector: Collector
) -> None:
    metrics = Metrics("svc")
    outbox, relay = Outbox(bus=bus), OutboxRelay(db, bus, metrics=metrics, batch=7)
    with structlog.contextvars.bound_contextvars(correlation_id="corr-42"):
        ids = await add_events(db, outbox, 10)
        async with db.transaction() as s:
            ids.append(await outbox.add(
                s, "trading.order.acc1", b'{"raw": true}', msg_id="fixed-id",
                headers={h.CORRELATION_ID: "explicit"},
            ))
    assert await relay.pending() == 11
    assert await relay.publish_batch() == 7
    assert await relay.publish_batch() == 4
    assert await relay.publish_batch() == 0
    got = await collector.wait(11)
    assert [e.msg_id for e in got] == ids
    assert [e.json() for e in got[:10]] == [{"seq": i} for i in range(10)]
    assert got[10].data == b'{"raw": true}'
    assert {e.correlation_id for e in got[:10]} == {"corr-42"}
    assert got[10].correlation_id == "explicit"
    assert all(e.headers[h.MESSAGE_ID] == e.msg_id for e in got)
    assert all(e.headers[h.SOURCE_SERVICE] == "svc" for e in got)
    assert await relay.pending() == 0
    assert metrics.registry.get_sample_value(
        "argosy_outbox_published_total", {"service": "svc"}) == 11
    assert metrics.registry.get_sample_value("argosy_outbox_pending", {"service": "svc"}) == 0


async def test_bus_failure_keeps_rows_pending_and_order_holds(
    db: Database, bus: FlakyBus, collector: Collector
) -> None:
    outbox, relay = Outbox(bus=bus), OutboxRelay(db, bus)
    ids = await add_events(db, outbox, 5)
    bus.down_after = 2  # the broker takes two, then goes away
    assert await relay.publish_batch() == 2
    assert await relay.publish_batch() == 0
    rows = await pending_rows(db)
    assert [r.msg_id for r in rows] == ids[2:]
    assert (rows[0].attempts, rows[0].last_error) == (2, "broker gone")
    assert [r.attempts for r in rows[1:]] == [0, 0]  # nothing after the failed row was tried
    more = await add_events(db, outbox, 2, start=5)
    bus.down_after = None
    assert await relay.publish_batch() == 5
    got = await collector.wait(7)
    assert [e.msg_id for e in got] == ids + more
    assert [e.json()["seq"] for e in got] == list(range(7))


async def test_relay_loop_wakes_on_commit_and_retries_after_failure(
    db: Database, bus: FlakyBus, collector: Collector
) -> None:
    outbox = Outbox(bus=bus)
    relay = OutboxRelay(db, bus, idle_poll_s=30)
    bus.down_after = 0
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.05)
        await add_events(db, outbox, 3)
        await asyncio.sleep(0.3)
        assert collector.got == []
        bus.down_after = None  # back: the loop's back-off retry publishes the rows
        await collector.wait(3, within=3)
        await add_events(db, outbox, 1, start=3)  # the commit wakes the idle loop at once
        await collector.wait(4, within=1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [e.json()["seq"] for e in collector.got] == [0, 1, 2, 3]


async def test_purge_removes_only_old_published_rows(db: Database, bus: FlakyBus) -> None:
    outbox = Outbox(bus=bus)
    t0 = 1_700_000_000 * 10**9
    old = await add_events(db, outbox, 2)
    assert await OutboxRelay(db, bus, clock_ns=lambda: t0).publish_batch() == 2
    recent = await add_events(db, outbox, 2, start=2)
    assert await OutboxRelay(db, bus, clock_ns=lambda: t0 + 2 * DAY_NS).publish_batch() == 2
    bus.down_after = 0
    pending = await add_events(db, outbox, 1, start=4)
    purger = OutboxRelay(db, bus, clock_ns=lambda: t0 + 2 * DAY_NS + 1, retention_s=86_400)
    assert await purger.purge() == 2
    async with db.read() as s:
        left = [r.msg_id for r in (await s.execute(
            select(outbox_table.c.msg_id).order_by(outbox_table.c.id))).all()]
    assert left == recent + pending
    assert not set(old) & set(left)
    assert await purger.purge() == 0


async def test_first_time_dedupes_per_consumer(db: Database) -> None:
    async with db.transaction() as s:
        assert await first_time(s, "ledger", "m1") is True
        assert await first_time(s, "ledger", "m1") is False
        assert await first_time(s, "notifier", "m1") is True
    async with db.transaction() as s:
        assert await first_time(s, "ledger", "m1") is False
        assert await first_time(s, "ledger", "m2") is True
    fresh: list[bool] = []

    async def failing_handler() -> None:
        async with db.transaction() as s:
            fresh.append(await first_time(s, "ledger", "m3"))
            raise RuntimeError("handler failed: the message must be applied again")

    with pytest.raises(RuntimeError):
        await failing_handler()
    assert fresh == [True]
    async with db.transaction() as s:
        assert await first_time(s, "ledger", "m3") is True
