"""PostgreSQL only: several processes of one service sharing the outbox and the inbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from argosy.platform.bus.base import Envelope
from argosy.platform.bus.memory import MemoryBus
from argosy.platform.db.engine import Database
from argosy.platform.db.inbox import first_time
from argosy.platform.db.outbox import Outbox, OutboxRelay
from tests.integration.db._setup import MIGRATIONS

pytestmark = pytest.mark.integration


@pytest.fixture
async def instances(
    postgres_url: str, schema_prefix: str, tmp_path: Path
) -> AsyncIterator[list[Database]]:
    """Three connected instances of the same service (one schema), like three processes."""
    dbs = [
        Database(postgres_url, service="trading", data_dir=tmp_path, schema_prefix=schema_prefix)
        for _ in range(3)
    ]
    await asyncio.gather(*(db.connect(MIGRATIONS) for db in dbs))
    yield dbs
    for db in dbs:
        await db.close()


async def test_concurrent_relays_publish_every_row_exactly_once(
    instances: list[Database],
) -> None:
    bus = MemoryBus(source="trading")
    await bus.connect()
    counts: Counter[str] = Counter()
    done = asyncio.Event()
    total = 600

    async def count(env: Envelope) -> None:
        counts[env.msg_id] += 1
        if sum(counts.values()) >= total:
            done.set()

    await bus.subscribe("trading.fill.*", count)
    outbox = Outbox(bus=bus)
    writer = instances[0]
    ids: list[str] = []

    async def produce() -> None:
        for chunk in range(total // 50):
            async with writer.transaction() as s:
                for i in range(50):
                    ids.append(await outbox.add(s, "trading.fill.acc1", {"n": chunk * 50 + i}))
            await asyncio.sleep(0)

    relays = [OutboxRelay(db, bus, batch=25, idle_poll_s=0.05) for db in instances]
    runners = [asyncio.create_task(r.run()) for r in relays]
    try:
        await produce()
        await asyncio.wait_for(done.wait(), 20)
        await asyncio.sleep(0.2)  # a duplicate would arrive now
    finally:
        for t in runners:
            t.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        await bus.close()
    assert len(ids) == total
    assert set(counts) == set(ids)
    assert max(counts.values()) == 1
    assert await relays[0].pending() == 0


async def test_concurrent_relay_batches_never_overlap(instances: list[Database]) -> None:
    """Three relays take batches at the same moment: SKIP LOCKED splits the rows."""
    bus = MemoryBus(source="trading")
    await bus.connect()
    seen: list[str] = []

    async def collect(env: Envelope) -> None:
        seen.append(env.msg_id)

    await bus.subscribe("trading.fill.*", collect)
    outbox = Outbox(bus=bus)
    async with instances[0].transaction() as s:
        ids = [await outbox.add(s, "trading.fill.acc1", {"n": i}) for i in range(90)]
    relays = [OutboxRelay(db, bus, batch=30) for db in instances]
    sent = await asyncio.gather(*(r.publish_batch() for r in relays))
    while sum(sent) < 90:
        more = await asyncio.gather(*(r.publish_batch() for r in relays))
        assert sum(more) > 0
        sent = [a + b for a, b in zip(sent, more, strict=True)]
    await asyncio.sleep(0.05)
    await bus.close()
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 90


async def test_inbox_race_between_instances_applies_once(instances: list[Database]) -> None:
    """The same message handled by two instances at once: one applies it, the other skips
    it cleanly (no integrity error that would abort the handler's transaction)."""
    a, b = instances[0], instances[1]
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def in_a() -> bool:
        async with a.transaction() as s:
            fresh = await first_time(s, "ledger", "msg-1")
            first_in.set()
            await release.wait()
            return fresh

    async def in_b() -> bool:
        await first_in.wait()
        async with b.transaction() as s:
            return await first_time(s, "ledger", "msg-1")

    task_a, task_b = asyncio.create_task(in_a()), asyncio.create_task(in_b())
    await first_in.wait()
    await asyncio.sleep(0.3)  # b is now waiting on a's uncommitted row
    release.set()
    results = await asyncio.gather(task_a, task_b)
    assert sorted(results) == [False, True]
