"""The hub without sockets: one bus subscription per channel, bounded queues, heartbeat."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import orjson
import pytest
from starlette.websockets import WebSocket

from argosy.platform.bus.memory import MemoryBus
from argosy.platform.metrics import Metrics
from argosy.services.gateway.domain.channels import resolve_channel
from argosy.services.gateway.domain.limits import Limit
from argosy.services.gateway.metrics import GatewayMetrics
from argosy.services.gateway.streams.connection import Connection
from argosy.services.gateway.streams.hub import Hub
from tests.unit.services.gateway._forge import claims

TRADE = resolve_channel("market.trade.BTC-USDT.binance", account=None, user_id="u1")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def conn(queue: int = 8, now: float = 0.0) -> Connection:
    return Connection(cast(WebSocket, None), ip="10.0.0.1", max_queue=queue,
                      rate=Limit(10, 10), now=now, ping_interval_s=1.0)


@pytest.fixture
async def bus() -> Any:
    b = MemoryBus()
    await b.connect()
    yield b
    await b.close()


async def settle(bus: MemoryBus) -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_fanout_shares_one_subscription_and_encodes_once(bus: MemoryBus) -> None:
    hub = Hub(bus, GatewayMetrics(Metrics("gateway")), ping_interval_s=1, ping_timeout_s=1)
    a, b = conn(), conn()
    for c in (a, b):
        hub.register(c)
        await hub.subscribe(c, TRADE)
    assert len([m for m in bus._members if m.pattern == TRADE.topic]) == 1
    await bus.publish_json(TRADE.topic, {"px": "1"})
    await settle(bus)
    assert list(a.queue) == list(b.queue) == [
        '{"op":"data","channel":"market.trade.BTC-USDT.binance","data":{"px":"1"}}']
    assert a.queue[0] is b.queue[0]  # the same string object: encoded once
    await hub.unsubscribe(a, TRADE.key)
    assert hub.channels() == {TRADE.key: 1}
    await hub.unregister(b)
    assert hub.channels() == {}
    assert not [m for m in bus._members if m.pattern == TRADE.topic]


async def test_a_full_queue_drops_only_that_client(bus: MemoryBus) -> None:
    metrics = GatewayMetrics(Metrics("gateway"))
    hub = Hub(bus, metrics, ping_interval_s=1, ping_timeout_s=1)
    slow, fast = conn(queue=3), conn(queue=100)
    for c in (slow, fast):
        await hub.subscribe(c, TRADE)
    for i in range(10):
        await bus.publish_json(TRADE.topic, {"n": i})
        await settle(bus)
        fast.queue.clear()  # the fast client's pump keeps up
    assert slow.closing is not None
    assert slow.closing[0] == 4409
    assert slow.closing[1].startswith("slow consumer")
    assert not slow.queue  # its backlog is freed at once
    assert fast.closing is None
    assert metrics.ws_dropped.labels("slow_consumer")._value.get() == 1


async def test_heartbeat_pings_then_drops_the_silent_and_the_expired(bus: MemoryBus) -> None:
    clock = Clock()
    hub = Hub(bus, GatewayMetrics(Metrics("gateway")), ping_interval_s=1, ping_timeout_s=2,
              clock=clock)
    silent, polite, expiring = conn(), conn(), conn()
    expiring.claims = type("C", (), {"exp": int(time.time()) - 1, "sid": "s"})()  # type: ignore[assignment]
    for c in (silent, polite, expiring):
        hub.register(c)
    clock.now = 1.0
    hub.beat()
    assert orjson.loads(silent.queue[0])["op"] == "ping"
    assert expiring.closing is not None
    assert expiring.closing[0] == 4401
    hub.pong(polite)
    clock.now = 3.5
    hub.beat()
    assert silent.closing is not None
    assert silent.closing[0] == 4408
    assert polite.closing is None


async def test_revoked_session_drops_its_connections(bus: MemoryBus) -> None:
    from argosy.contracts.v1.identity import AccessClaims

    hub = Hub(bus, GatewayMetrics(Metrics("gateway")), ping_interval_s=1, ping_timeout_s=1)
    mine, other = conn(), conn()
    mine.claims = AccessClaims.model_validate(claims(sid="s-1"))
    other.claims = AccessClaims.model_validate(claims(sid="s-2"))
    for c in (mine, other):
        hub.register(c)
    await hub.drop_session("s-1")
    assert mine.closing is not None
    assert mine.closing[1] == "session revoked"
    assert other.closing is None
