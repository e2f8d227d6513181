"""The semantics of base.py, checked against every real transport (see conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
import structlog
from structlog.testing import capture_logs

from argosy.contracts import headers as h
from argosy.platform.bus.base import Bus, Envelope

pytestmark = pytest.mark.integration

MakeBus = Callable[..., Awaitable[Bus]]  # the make_bus fixture of conftest.py


async def eventually(check: Callable[[], bool], within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class Inbox:
    """A handler that records what it got and can fail the first deliveries."""

    def __init__(self, fail_until: int = 0, delay_s: float = 0.0) -> None:
        self.got: list[Envelope] = []
        self.fail_until, self.delay_s = fail_until, delay_s

    async def __call__(self, env: Envelope) -> None:
        self.got.append(env)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if env.delivery <= self.fail_until:
            raise RuntimeError(f"refusing delivery {env.delivery}")

    @property
    def topics(self) -> list[str]:
        return [e.topic for e in self.got]


async def test_check_passes(make_bus: MakeBus) -> None:
    await (await make_bus()).check()


async def test_fan_out_reaches_every_subscriber(make_bus: MakeBus, tok: str) -> None:
    a, b, publisher = await make_bus("a"), await make_bus("b"), await make_bus("pub")
    inbox_a, inbox_b = Inbox(), Inbox()
    await a.subscribe(f"trading.{tok}.*", inbox_a)
    await b.subscribe(f"trading.{tok}.*", inbox_b)
    for i in range(3):
        await publisher.publish_json(f"trading.{tok}.acc1", {"n": i})
    await eventually(lambda: len(inbox_a.got) == 3 and len(inbox_b.got) == 3)
    assert [e.json()["n"] for e in inbox_a.got] == [0, 1, 2]
    assert [e.json()["n"] for e in inbox_b.got] == [0, 1, 2]


async def test_group_members_share_the_work(make_bus: MakeBus, tok: str) -> None:
    one, two, publisher = await make_bus("one"), await make_bus("two"), await make_bus("pub")
    inbox_one, inbox_two = Inbox(delay_s=0.002), Inbox(delay_s=0.002)
    await one.subscribe(f"trading.{tok}.>", inbox_one, group="workers")
    await two.subscribe(f"trading.{tok}.>", inbox_two, group="workers")
    sent = [await publisher.publish(f"trading.{tok}.acc{i}", b"x") for i in range(40)]
    await eventually(lambda: len(inbox_one.got) + len(inbox_two.got) >= len(sent))
    await asyncio.sleep(0.3)  # room for a duplicate to show up
    handled = Counter(e.msg_id for e in inbox_one.got + inbox_two.got)
    assert handled == Counter(sent)
    assert inbox_one.got, "member two did all the work"
    assert inbox_two.got, "member one did all the work"


async def test_failed_handler_gets_the_message_again(make_bus: MakeBus, tok: str) -> None:
    bus = await make_bus()
    inbox = Inbox(fail_until=2)
    await bus.subscribe(f"trading.{tok}.*", inbox, group="retry", max_deliver=5)
    mid = await bus.publish(f"trading.{tok}.acc1", b"x")
    await eventually(lambda: len(inbox.got) == 3)
    await asyncio.sleep(0.3)
    assert [(e.msg_id, e.delivery) for e in inbox.got] == [(mid, 1), (mid, 2), (mid, 3)]


async def test_dead_letter_after_max_deliver(make_bus: MakeBus, tok: str) -> None:
    bus = await make_bus()
    inbox = Inbox(fail_until=99)
    with capture_logs() as logs:
        await bus.subscribe(f"trading.{tok}.*", inbox, group="doomed", max_deliver=3)
        mid = await bus.publish(f"trading.{tok}.acc1", b"x")
        await eventually(lambda: any(e["event"] == "bus.dead_letter" for e in logs))
        await asyncio.sleep(0.5)
    assert [e.delivery for e in inbox.got] == [1, 2, 3]
    [dead] = [e for e in logs if e["event"] == "bus.dead_letter"]
    assert dead["log_level"] == "error"
    assert dead["msg_id"] == mid
    assert dead["group"] == "doomed"


@pytest.mark.parametrize("group", [None, "hdrs"])
async def test_headers_and_correlation_id_round_trip(
    make_bus: MakeBus, tok: str, group: str | None
) -> None:
    publisher, consumer = await make_bus("pricing"), await make_bus("risk")
    seen_cid: list[object] = []

    async def handler(env: Envelope) -> None:
        seen_cid.append(structlog.contextvars.get_contextvars().get("correlation_id"))
        await inbox(env)

    inbox = Inbox()
    await consumer.subscribe(f"trading.{tok}.*", handler, group=group)
    with structlog.contextvars.bound_contextvars(correlation_id="corr-1"):
        await publisher.publish(
            f"trading.{tok}.acc1", b"{}", headers={"X-Trace": "abc"}, msg_id=f"mid-{tok}"
        )
    await eventually(lambda: len(inbox.got) == 1)
    env = inbox.got[0]
    assert env.msg_id == f"mid-{tok}"
    assert env.correlation_id == "corr-1"
    assert env.headers["x-trace"] == "abc"
    assert env.headers[h.SOURCE_SERVICE] == "pricing"
    assert env.headers[h.MESSAGE_ID] == f"mid-{tok}"
    assert seen_cid == ["corr-1"]


async def test_star_and_full_wildcards(make_bus: MakeBus, tok: str) -> None:
    bus = await make_bus()
    star, tail, any_root = Inbox(), Inbox(), Inbox()
    await bus.subscribe(f"trading.{tok}.*", star)
    await bus.subscribe(f"trading.{tok}.>", tail)
    await bus.subscribe(f"*.{tok}.a", any_root)
    for topic in (f"trading.{tok}", f"trading.{tok}.a", f"trading.{tok}.a.b", f"risk.{tok}.a"):
        await bus.publish(topic, b"x")
    await eventually(lambda: len(star.got) >= 1 and len(tail.got) >= 2 and len(any_root.got) >= 2)
    await asyncio.sleep(0.3)
    assert star.topics == [f"trading.{tok}.a"]
    assert sorted(tail.topics) == [f"trading.{tok}.a", f"trading.{tok}.a.b"]
    assert sorted(any_root.topics) == [f"risk.{tok}.a", f"trading.{tok}.a"]


@pytest.mark.parametrize("group", [None, "newcomers"])
async def test_wild_root_sees_topics_that_appear_later(
    make_bus: MakeBus, tok: str, group: str | None
) -> None:
    """On Kafka no topic matches yet when subscribing: the reader must discover it."""
    bus = await make_bus()
    inbox = Inbox()
    await bus.subscribe(f"*.{tok}.x", inbox, group=group)
    await bus.publish(f"risk.{tok}.x", b"x")
    await eventually(lambda: len(inbox.got) == 1, within_s=15)
    assert inbox.topics == [f"risk.{tok}.x"]


async def test_group_across_roots_reads_what_is_retained(make_bus: MakeBus, tok: str) -> None:
    bus = await make_bus()
    for topic in (f"trading.{tok}.a", f"risk.{tok}.a", f"risk.{tok}.b"):
        await bus.publish(topic, b"x")
    inbox = Inbox()
    await bus.subscribe(f"*.{tok}.a", inbox, group="late")
    await eventually(lambda: len(inbox.got) >= 2)
    await asyncio.sleep(0.3)
    assert sorted(inbox.topics) == [f"risk.{tok}.a", f"trading.{tok}.a"]


async def test_durable_group_resumes_where_it_stopped(make_bus: MakeBus, tok: str) -> None:
    publisher, first = await make_bus("pub"), await make_bus("first")
    before = Inbox()
    sub = await first.subscribe(f"trading.{tok}.*", before, group="durable")
    m1 = await publisher.publish(f"trading.{tok}.acc1", b"1")
    await eventually(lambda: len(before.got) == 1)
    await sub.stop()
    await first.close()
    missed = [await publisher.publish(f"trading.{tok}.acc1", n) for n in (b"2", b"3")]
    after = Inbox()
    await (await make_bus("second")).subscribe(f"trading.{tok}.*", after, group="durable")
    await eventually(lambda: len(after.got) == 2)
    await asyncio.sleep(0.3)
    assert [e.msg_id for e in before.got] == [m1]
    assert [e.msg_id for e in after.got] == missed


async def test_republished_msg_id(make_bus: MakeBus, transport_kind: str, tok: str) -> None:
    """NATS drops the copy server-side; Kafka has no such dedupe, so the inbox must."""
    bus = await make_bus()
    inbox = Inbox()
    await bus.subscribe(f"trading.{tok}.*", inbox, group="dedupe")
    row7, row8 = f"{tok}-row-7", f"{tok}-row-8"
    await bus.publish(f"trading.{tok}.acc1", b"x", msg_id=row7)
    await bus.publish(f"trading.{tok}.acc1", b"x", msg_id=row7)  # the relay crashed, resent
    await bus.publish(f"trading.{tok}.acc1", b"y", msg_id=row8)
    expected = [row7, row8] if transport_kind == "nats" else [row7, row7, row8]
    await eventually(lambda: len(inbox.got) >= len(expected))
    await asyncio.sleep(0.3)
    assert [e.msg_id for e in inbox.got] == expected
