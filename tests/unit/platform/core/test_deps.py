"""Dependencies that are down at start: retried in the background, reported on readiness.

The dependency here is a real TCP listener the test starts and stops on a free port.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from argosy.platform.metrics import Metrics
from argosy.platform.runtime.deps import Dependencies, Dependency
from tests.support.servers import free_port
from tests.unit.platform.core._capture import ReadLogs


class Listener:
    """A TCP server that can be switched off and on again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self.connects = 0

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def probe(self) -> None:
        self.connects += 1
        _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.close()
        await writer.wait_closed()

    def dependency(self, name: str = "db") -> Dependency:
        async def close() -> None:
            return None

        return Dependency(name, self.probe, self.probe, close, f"tcp://127.0.0.1:{self.port}")


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    lst = Listener()
    yield lst
    await lst.down()


def gauge(metrics: Metrics, dep: str) -> float | None:
    return metrics.registry.get_sample_value(
        "argosy_dependency_up", {"service": "svc", "dependency": dep}
    )


async def test_down_at_start_is_retried_and_recovers(
    listener: Listener, json_logs: ReadLogs
) -> None:
    metrics = Metrics("svc")
    deps = Dependencies("svc", metrics, retry_s=0.05, max_retry_s=0.1)
    ok = Listener()
    await ok.up()
    deps.add(listener.dependency("db"))
    deps.add(ok.dependency("bus"))
    await deps.start()  # returns although db is down

    checks = await deps.readiness()
    assert checks["bus"] == {"ok": True}
    assert checks["db"]["ok"] is False
    assert "Connect call failed" in checks["db"]["error"]
    assert gauge(metrics, "db") == 0
    assert gauge(metrics, "bus") == 1
    waiter = asyncio.create_task(deps.ready("db", "bus"))
    await asyncio.sleep(0.3)
    assert not waiter.done()
    assert listener.connects >= 3  # it kept trying

    await listener.up()
    await asyncio.wait_for(waiter, 2)
    assert await deps.readiness() == {"db": {"ok": True}, "bus": {"ok": True}}
    assert gauge(metrics, "db") == 1
    await deps.close()
    await ok.down()
    events = [(x["event"], x.get("dependency")) for x in json_logs()]
    assert events.count(("dependency.unavailable", "db")) == 1  # one line, not one per retry
    assert ("dependency.connected", "db") in events


async def test_a_dependency_that_goes_down_later_is_reported_then_recovers(
    listener: Listener,
) -> None:
    metrics = Metrics("svc")
    deps = Dependencies("svc", metrics)
    await listener.up()
    deps.add(listener.dependency())
    await deps.start()
    assert await deps.readiness() == {"db": {"ok": True}}
    await listener.down()
    down = await deps.readiness()
    assert down["db"]["ok"] is False
    assert down["db"]["error"]
    assert gauge(metrics, "db") == 0
    await listener.up()
    assert await deps.readiness() == {"db": {"ok": True}}
    assert gauge(metrics, "db") == 1
    await deps.close()


async def test_a_hanging_check_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import argosy.platform.runtime.deps as deps_module

    monkeypatch.setattr(deps_module, "_CHECK_TIMEOUT_S", 0.1)

    async def hang() -> None:
        await asyncio.sleep(60)

    async def nothing() -> None:
        return None

    deps = Dependencies("svc", Metrics("svc"))
    deps.add(Dependency("cache", nothing, hang, nothing))
    await deps.start()
    checks = await asyncio.wait_for(deps.readiness(), 1)
    assert checks == {"cache": {"ok": False, "error": "TimeoutError"}}
    await deps.close()


async def test_close_stops_retrying_and_closes_in_reverse(listener: Listener) -> None:
    closed: list[str] = []

    def closer(name: str) -> Dependency:
        async def connect() -> None:
            return None

        async def close() -> None:
            closed.append(name)

        return Dependency(name, connect, connect, close)

    deps = Dependencies("svc", Metrics("svc"), retry_s=0.05)
    deps.add(closer("bus"))
    deps.add(listener.dependency("db"))  # never comes up: never closed
    deps.add(closer("cache"))
    await deps.start()
    await deps.close()
    tries = listener.connects
    await asyncio.sleep(0.2)
    assert listener.connects == tries
    assert closed == ["cache", "bus"]


async def test_a_silent_failure_is_named_and_logged_once(json_logs: ReadLogs) -> None:
    async def fail() -> None:
        raise ConnectionResetError()

    deps = Dependencies("svc", Metrics("svc"), retry_s=0.02, max_retry_s=0.02)
    deps.add(Dependency("objects", fail, fail, fail))
    await deps.start()
    await asyncio.sleep(0.2)
    assert await deps.readiness() == {"objects": {"ok": False, "error": "ConnectionResetError"}}
    await deps.close()
    warnings = [x for x in json_logs() if x["event"] == "dependency.unavailable"]
    assert len(warnings) == 1
    assert warnings[0]["error"] == "ConnectionResetError"
