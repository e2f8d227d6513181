"""What the networked transports do before any server is involved: factory wiring, URL
options, and failing loudly (as Unavailable) when nothing listens."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Unavailable
from argosy.platform.bus import create_bus
from argosy.platform.bus._embedded import free_port
from argosy.platform.bus.kafka import KafkaBus
from argosy.platform.bus.nats import NatsBus


def test_factory_builds_each_transport() -> None:
    nats_bus = create_bus("nats://127.0.0.1:4222", source="svc")
    kafka_bus = create_bus("kafka://127.0.0.1:9092", source="svc")
    assert isinstance(nats_bus, NatsBus)
    assert nats_bus.kind == "nats"
    assert isinstance(kafka_bus, KafkaBus)
    assert kafka_bus.kind == "kafka"
    assert nats_bus.source == kafka_bus.source == "svc"
    assert nats_bus.subjects.namespace == ""  # production streams, no prefix


def test_kafka_idempotence_is_on_unless_the_url_turns_it_off() -> None:
    assert KafkaBus("kafka://k:9092")._idempotence
    assert not KafkaBus("kafka://k:9092?idempotence=false")._idempotence


async def test_unconnected_buses_are_unavailable() -> None:
    for bus in (NatsBus("nats://127.0.0.1:1"), KafkaBus("kafka://127.0.0.1:1")):
        with pytest.raises(Unavailable):
            await bus.check()
        with pytest.raises(Unavailable):
            await bus.publish("trading.fill.acc1", b"{}")


async def test_nats_connect_to_nothing_is_unavailable() -> None:
    bus = NatsBus(f"nats://127.0.0.1:{free_port()}", connect_timeout_s=0.5)
    with pytest.raises(Unavailable) as err:
        await bus.connect()
    assert err.value.dependency == "bus"


async def test_kafka_connect_to_nothing_is_unavailable() -> None:
    bus = KafkaBus(f"kafka://127.0.0.1:{free_port()}", request_timeout_s=1)
    with pytest.raises(Unavailable) as err:
        await bus.connect()
    assert err.value.dependency == "bus"
