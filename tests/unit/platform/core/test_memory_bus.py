"""MemoryBus semantics: the contract of bus/base.py, without a server."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog

from argosy.contracts import headers as h
from argosy.kernel.errors import Unavailable
from argosy.platform.bus.base import Envelope, Subscription
from argosy.platform.bus.memory import MemoryBus
from argosy.platform.metrics import Metrics
from tests.unit.platform.core._capture import ReadLogs


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    b = MemoryBus(source="trading", metrics=Metrics("trading"))
    await b.connect()
    yield b
    await b.close()


class Inbox:
    """Collects envelopes; `wait(n)` returns once n have arrived (or fails after 2 s)."""

    def __init__(self, fail_times: int = 0) -> None:
        self.got: list[Envelope] = []
        self.times: list[float] = []
        self.fail_times = fail_times
        self._changed = asyncio.Event()

    async def __call__(self, env: Envelope) -> None:
        self.got.append(env)
        self.times.append(time.monotonic())
        self._changed.set()
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("handler failed")

    async def wait(self, n: int, within: float = 2.0) -> list[Envelope]:
        async with asyncio.timeout(within):
            while len(self.got) < n:
                self._changed.clear()
                await self._changed.wait()
        return self.got

    @property
    def payloads(self) -> list[Any]:
        return [e.json() for e in self.got]


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_fan_out_reaches_every_subscriber_in_order(bus: MemoryBus) -> None:
    a, b = Inbox(), Inbox()
    await bus.subscribe("trading.fill.*", a)
    await bus.subscribe("trading.fill.*", b)
    for i in range(5):
        await bus.publish_json("trading.fill.acc1", {"i": i})
    await a.wait(5)
    await b.wait(5)
    assert a.payloads == b.payloads == [{"i": i} for i in range(5)]


async def test_group_members_share_round_robin(bus: MemoryBus) -> None:
    members = [Inbox(), Inbox(), Inbox()]
    for m in members:
        await bus.subscribe("trading.order.>", m, group="risk-checks")
    watcher = Inbox()
    await bus.subscribe("trading.order.>", watcher)  # a fan-out subscriber still sees all
    for i in range(9):
        await bus.publish_json("trading.order.new.acc1", {"i": i})
    await watcher.wait(9)
    await settle()
    assert [len(m.got) for m in members] == [3, 3, 3]
    assert sorted(p["i"] for m in members for p in m.payloads) == list(range(9))
    assert members[0].payloads == [{"i": 0}, {"i": 3}, {"i": 6}]


async def test_two_groups_each_get_every_message(bus: MemoryBus) -> None:
    g1, g2 = Inbox(), Inbox()
    await bus.subscribe("risk.alert.*", g1, group="notify")
    await bus.subscribe("risk.alert.*", g2, group="audit")
    await bus.publish_json("risk.alert.acc1", {"x": 1})
    await g1.wait(1)
    await g2.wait(1)


async def test_group_redelivers_with_a_delivery_counter(bus: MemoryBus) -> None:
    flaky = Inbox(fail_times=2)
    await bus.subscribe("trading.fill.*", flaky, group="ledger", max_deliver=5)
    mid = await bus.publish_json("trading.fill.acc1", {"qty": "1"})
    got = await flaky.wait(3)
    await settle()
    assert [e.delivery for e in got] == [1, 2, 3]
    assert {e.msg_id for e in got} == {mid}
    assert len(flaky.got) == 3


async def test_dead_letter_after_max_deliver_and_the_group_moves_on(
    bus: MemoryBus, json_logs: ReadLogs
) -> None:
    poison = Inbox(fail_times=3)
    await bus.subscribe("trading.fill.*", poison, group="ledger", max_deliver=3)
    bad = await bus.publish_json("trading.fill.acc1", {"n": "bad"})
    await bus.publish_json("trading.fill.acc1", {"n": "good"})
    got = await poison.wait(4)
    assert [(e.json()["n"], e.delivery) for e in got] == [
        ("bad", 1), ("bad", 2), ("bad", 3), ("good", 1),
    ]
    gaps = [b - a for a, b in itertools.pairwise(poison.times)]
    assert gaps[0] >= 0.04  # redeliveries back off: 50 ms, then 100 ms
    assert gaps[1] >= 0.09
    assert gaps[2] < 0.05  # no back-off after the last attempt: the next message goes now
    dead = [x for x in json_logs() if x["event"] == "bus.dead_letter"]
    assert len(dead) == 1
    assert (dead[0]["msg_id"], dead[0]["attempts"], dead[0]["group"]) == (bad, 3, "ledger")


async def test_fan_out_is_at_most_once(bus: MemoryBus) -> None:
    failing = Inbox(fail_times=1)
    await bus.subscribe("trading.fill.*", failing)
    await bus.publish_json("trading.fill.acc1", {"n": 1})
    await bus.publish_json("trading.fill.acc1", {"n": 2})
    got = await failing.wait(2)
    await settle()
    assert [(e.json()["n"], e.delivery) for e in got] == [(1, 1), (2, 1)]


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("md.trade.*.BTCUSDT", ["md.trade.binance.BTCUSDT"], ["md.trade.binance.ETHUSDT",
                                                              "md.trade.binance.BTCUSDT.x"]),
        ("md.>", ["md.trade.binance.BTCUSDT", "md.book.x"], ["trading.fill.a"]),
        ("md.trade.>", ["md.trade.binance.BTCUSDT"], ["md.book.binance.BTCUSDT"]),
        ("trading.fill.acc1", ["trading.fill.acc1"], ["trading.fill.acc2", "trading.fill"]),
        ("trading.*", ["trading.fill"], ["trading.fill.acc1"]),
    ],
)
async def test_pattern_matching(
    bus: MemoryBus, pattern: str, matches: list[str], misses: list[str]
) -> None:
    inbox, everything = Inbox(), Inbox()
    await bus.subscribe(pattern, inbox)
    await bus.subscribe(">", everything)
    for topic in misses + matches:
        await bus.publish(topic, topic.encode())
    await everything.wait(len(misses) + len(matches))
    await settle()
    assert [e.topic for e in inbox.got] == matches


async def test_wildcard_topics_and_bad_patterns_are_refused(bus: MemoryBus) -> None:
    with pytest.raises(ValueError, match="invalid topic"):
        await bus.publish("md.trade.*", b"")
    with pytest.raises(ValueError, match="no stream"):
        await bus.publish("nosuchroot.x", b"")
    with pytest.raises(ValueError, match="'>' only as the last"):
        await bus.subscribe("md.>.x", Inbox())
    with pytest.raises(ValueError, match="consumer group"):
        await bus.subscribe("md.>", Inbox(), group="bad group!")
    with pytest.raises(ValueError, match="max_deliver"):
        await bus.subscribe("md.>", Inbox(), group="g", max_deliver=0)


async def test_headers_and_correlation_are_bound_inside_handlers(bus: MemoryBus) -> None:
    seen: list[dict[str, Any]] = []
    inbox = Inbox()

    async def handler(env: Envelope) -> None:
        seen.append(dict(structlog.contextvars.get_contextvars()))
        await inbox(env)
        # publishing from inside a handler carries the same correlation id onwards
        await bus.publish_json("risk.alert.acc1", {"from": env.msg_id})

    follow = Inbox()
    await bus.subscribe("trading.fill.*", handler, group="g1")
    await bus.subscribe("risk.alert.*", follow)
    with structlog.contextvars.bound_contextvars(correlation_id="corr-77", request_id="req-1"):
        mid = await bus.publish_json(
            "trading.fill.acc1", {"x": 1}, headers={"X-Custom": "yes"}, msg_id="m-1"
        )
    assert mid == "m-1"
    env = (await inbox.wait(1))[0]
    assert env.msg_id == "m-1"
    assert env.correlation_id == "corr-77"
    assert env.headers[h.MESSAGE_ID] == "m-1"
    assert env.headers[h.SOURCE_SERVICE] == "trading"
    assert env.headers["x-custom"] == "yes"
    assert seen[0]["correlation_id"] == "corr-77"
    assert (seen[0]["topic"], seen[0]["msg_id"]) == ("trading.fill.acc1", "m-1")
    assert "request_id" not in seen[0]  # the publisher's request is not the handler's
    onward = (await follow.wait(1))[0]
    assert onward.correlation_id == "corr-77"
    assert structlog.contextvars.get_contextvars() == {}


async def test_explicit_correlation_header_wins(bus: MemoryBus) -> None:
    inbox = Inbox()
    await bus.subscribe("trading.fill.*", inbox)
    with structlog.contextvars.bound_contextvars(correlation_id="from-context"):
        await bus.publish("trading.fill.a", b"{}", headers={h.CORRELATION_ID: "explicit"})
    assert (await inbox.wait(1))[0].correlation_id == "explicit"


async def test_stopped_subscription_gets_nothing_more(bus: MemoryBus) -> None:
    stopped, kept = Inbox(), Inbox()
    sub = await bus.subscribe("trading.fill.*", stopped, group="g")
    await bus.subscribe("trading.fill.*", kept, group="g")
    await sub.stop()
    for i in range(3):
        await bus.publish_json("trading.fill.a", {"i": i})
    await kept.wait(3)
    assert stopped.got == []


async def test_publish_after_close_is_unavailable() -> None:
    bus = MemoryBus()
    with pytest.raises(Unavailable):
        await bus.publish("trading.fill.a", b"")  # never connected
    await bus.connect()
    await bus.check()
    inbox = Inbox()
    await bus.subscribe("trading.fill.*", inbox)
    await bus.close()
    with pytest.raises(Unavailable) as info:
        await bus.publish("trading.fill.a", b"")
    assert info.value.dependency == "bus"
    with pytest.raises(Unavailable):
        await bus.check()
    assert inbox.got == []


async def test_metrics_count_published_and_handled(bus: MemoryBus) -> None:
    assert isinstance(bus.metrics, Metrics)
    inbox = Inbox(fail_times=1)
    await bus.subscribe("trading.fill.*", inbox)
    await bus.publish_json("trading.fill.acc1", {})
    await bus.publish_json("trading.fill.acc2", {})
    await inbox.wait(2)
    await settle()
    reg = bus.metrics.registry
    labels = {"service": "trading", "transport": "memory", "topic": "trading.fill"}
    assert reg.get_sample_value("argosy_bus_published_total", labels) == 2
    assert reg.get_sample_value("argosy_bus_handled_total", {**labels, "outcome": "ok"}) == 1
    assert reg.get_sample_value("argosy_bus_handled_total", {**labels, "outcome": "error"}) == 1


async def test_a_handler_may_stop_its_own_subscription(bus: MemoryBus) -> None:
    after_stop: list[str] = []
    subs: list[Subscription] = []

    async def once(env: Envelope) -> None:
        await subs[0].stop()
        after_stop.append(env.msg_id)  # the handler itself runs to the end

    subs.append(await bus.subscribe("trading.fill.*", once))
    watcher = Inbox()
    await bus.subscribe("trading.fill.*", watcher)
    first = await bus.publish("trading.fill.a", b"1")
    await bus.publish("trading.fill.a", b"2")
    await watcher.wait(2)
    await settle()
    assert after_stop == [first]


async def test_a_handler_may_close_the_bus() -> None:
    bus = MemoryBus()
    await bus.connect()
    closed = asyncio.Event()

    async def shutdown(_: Envelope) -> None:
        await bus.close()
        closed.set()

    await bus.subscribe("platform.shutdown", shutdown)
    await bus.publish("platform.shutdown", b"")
    await asyncio.wait_for(closed.wait(), 1)
    with pytest.raises(Unavailable):
        await bus.publish("platform.shutdown", b"")
