"""LiveConfig: documents from a config source applied without restart, over a real MemoryBus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from argosy.contracts.topics import config_changed
from argosy.platform.bus.memory import MemoryBus
from argosy.platform.logging import set_level
from argosy.platform.runtime.live import ConfigNamespace, LiveConfig, RuntimeSettings
from tests.unit.platform.core._capture import ReadLogs
from tests.unit.platform.core._fakes import FakeConfigSource

SERVICE = "risk"


class RiskRuntime(RuntimeSettings):
    max_orders: int = 10


class Calls:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any] | None, int]] = []
        self.fail = False

    async def __call__(self, namespace: str, content: dict[str, Any] | None, version: int) -> None:
        if self.fail:
            raise RuntimeError("handler not ready")
        self.seen.append((namespace, content, version))


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    b = MemoryBus(source="config")
    await b.connect()
    yield b
    await b.close()


@pytest.fixture
def source() -> FakeConfigSource:
    return FakeConfigSource()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
async def live(
    bus: MemoryBus, source: FakeConfigSource, calls: Calls
) -> AsyncIterator[LiveConfig]:
    set_level("info")
    lc = LiveConfig(
        SERVICE, source, bus, initial=RiskRuntime(log_level="info"), resync_s=3600,
        namespaces=[ConfigNamespace("params/*", {"type": "object"}, "Per-symbol", calls)],
    )
    yield lc
    await lc.stop()
    set_level("info")


async def eventually(check: Callable[[], bool], within: float = 2.0) -> None:
    async with asyncio.timeout(within):
        while not check():
            await asyncio.sleep(0.01)


async def push(bus: MemoryBus, namespace: str, version: int) -> None:
    await bus.publish_json(
        config_changed(SERVICE),
        {"service": SERVICE, "namespace": namespace, "version": version, "action": "update",
         "author": "op", "changed_ns": 0},
    )


async def test_start_registers_schemas_and_applies_stored_documents(
    live: LiveConfig, source: FakeConfigSource, calls: Calls
) -> None:
    source.put(SERVICE, "settings", {"log_level": "warning", "max_orders": 3}, 2)
    source.put(SERVICE, "params/btcusdt", {"edge": "0.1"}, 5)
    source.put("other", "settings", {"log_level": "debug"}, 9)
    await live.start()
    await eventually(lambda: live.status()["versions"] == {"settings": 2, "params/btcusdt": 5})
    registered = {n["namespace"]: n for n in source.registered[SERVICE]}
    assert set(registered) == {"settings", "features", "params/*"}
    schema = registered["settings"]["schema"]
    assert set(schema["properties"]) == {"log_level", "max_orders"}
    assert schema["additionalProperties"] is False
    assert live.settings == RiskRuntime(log_level="warning", max_orders=3)
    assert logging.getLogger().level == logging.WARNING
    assert calls.seen == [("params/btcusdt", {"edge": "0.1"}, 5)]
    assert live.status()["registered"] is True


async def test_settings_push_changes_the_root_log_level(
    live: LiveConfig, source: FakeConfigSource, bus: MemoryBus
) -> None:
    changes: list[RuntimeSettings] = []
    live.on_settings(changes.append)
    await live.start()
    await eventually(lambda: live.status()["registered"])
    assert logging.getLogger().level == logging.INFO
    source.put(SERVICE, "settings", {"log_level": "debug"}, 1)
    await push(bus, "settings", 1)
    await eventually(lambda: live.status()["versions"].get("settings") == 1)
    assert logging.getLogger().level == logging.DEBUG
    assert changes == [RiskRuntime(log_level="debug", max_orders=10)]


async def test_pattern_namespace_handler_gets_the_document(
    live: LiveConfig, source: FakeConfigSource, bus: MemoryBus, calls: Calls
) -> None:
    await live.start()
    await eventually(lambda: live.status()["registered"])
    source.put(SERVICE, "params/ethusdt", {"edge": "0.2"}, 1)
    await push(bus, "params/ethusdt", 1)
    source.put(SERVICE, "unrelated/x", {"a": 1}, 1)
    await push(bus, "unrelated/x", 1)
    await eventually(lambda: live.status()["versions"].get("unrelated/x") == 1)
    assert calls.seen == [("params/ethusdt", {"edge": "0.2"}, 1)]


@pytest.mark.parametrize(
    "content",
    [{"log_level": "loud"}, {"max_orders": "many"}, {"no_such_setting": 1},
     {"max_orders": "tok-SECRET-123"}],
)
async def test_invalid_settings_are_rejected_and_logged(
    live: LiveConfig, source: FakeConfigSource, json_logs: ReadLogs, content: dict[str, Any]
) -> None:
    set_level("info")
    source.put(SERVICE, "settings", {"log_level": "warning", "max_orders": 4}, 1)
    await live.sync()
    source.put(SERVICE, "settings", content, 2)
    await live.sync()
    assert live.settings == RiskRuntime(log_level="warning", max_orders=4)
    assert logging.getLogger().level == logging.WARNING
    lines = json_logs()
    rejected = [x for x in lines if x["event"] == "config.rejected"]
    assert len(rejected) == 1
    assert (rejected[0]["namespace"], rejected[0]["version"]) == ("settings", 2)
    assert rejected[0]["error"].split(":")[0] in {"log_level", "max_orders", "no_such_setting"}
    assert "SECRET" not in str(lines)  # a rejected value is not echoed into the log


async def test_missed_event_is_healed_by_sync(
    live: LiveConfig, source: FakeConfigSource, calls: Calls
) -> None:
    await live.sync()
    source.put(SERVICE, "params/solusdt", {"edge": "1"}, 1)
    source.put(SERVICE, "settings", {"max_orders": 7}, 1)  # no event published
    await live.sync()
    assert live.settings.model_dump() == {"log_level": "info", "max_orders": 7}
    assert calls.seen == [("params/solusdt", {"edge": "1"}, 1)]
    await live.sync()  # nothing new: nothing re-applied
    assert calls.seen == [("params/solusdt", {"edge": "1"}, 1)]


async def test_versions_only_move_forward(
    live: LiveConfig, source: FakeConfigSource, bus: MemoryBus, calls: Calls
) -> None:
    await live.start()
    source.put(SERVICE, "params/btc", {"edge": "3"}, 3)
    await push(bus, "params/btc", 3)
    await eventually(lambda: live.status()["versions"].get("params/btc") == 3)
    source.put(SERVICE, "params/btc", {"edge": "2"}, 2)  # a stale read
    await push(bus, "params/btc", 2)  # a late, out-of-order event
    await push(bus, "params/btc", 4)  # an event newer than what the source returns
    await live.sync()
    await asyncio.sleep(0.05)
    assert calls.seen == [("params/btc", {"edge": "3"}, 3)]
    assert live.status()["versions"]["params/btc"] == 3


async def test_deleted_document_reverts_to_defaults(
    live: LiveConfig, source: FakeConfigSource, calls: Calls
) -> None:
    source.put(SERVICE, "settings", {"max_orders": 2}, 1)
    source.put(SERVICE, "params/btc", {"edge": "3"}, 1)
    await live.sync()
    source.delete(SERVICE, "settings")
    source.delete(SERVICE, "params/btc")
    await live.sync()
    assert live.settings == RiskRuntime(log_level="info")
    assert calls.seen[-1] == ("params/btc", None, 0)
    assert live.status()["versions"] == {}


async def test_a_failing_handler_is_retried_by_the_next_sync(
    live: LiveConfig, source: FakeConfigSource, calls: Calls
) -> None:
    source.put(SERVICE, "params/btc", {"edge": "3"}, 1)
    calls.fail = True
    with pytest.raises(RuntimeError):
        await live.sync()
    assert "params/btc" not in live.status()["versions"]
    calls.fail = False
    await live.sync()
    assert calls.seen == [("params/btc", {"edge": "3"}, 1)]


async def test_unreachable_source_is_retried_and_reported(
    live: LiveConfig, source: FakeConfigSource
) -> None:
    source.fail = ConnectionError("config service down")
    source.put(SERVICE, "settings", {"max_orders": 5}, 1)
    await live.start()
    await eventually(lambda: live.status()["last_error"] == "config service down")
    assert live.status()["registered"] is False
    source.fail = None
    await eventually(lambda: live.status()["versions"].get("settings") == 1, within=3)
    assert live.settings.model_dump()["max_orders"] == 5


async def test_stop_ends_the_subscription(
    live: LiveConfig, source: FakeConfigSource, bus: MemoryBus, calls: Calls
) -> None:
    await live.start()
    await eventually(lambda: live.status()["registered"])
    await live.stop()
    source.put(SERVICE, "params/btc", {"edge": "3"}, 1)
    await push(bus, "params/btc", 1)
    await asyncio.sleep(0.05)
    assert calls.seen == []



async def test_feature_flags_follow_the_features_document(
    live: LiveConfig, source: FakeConfigSource
) -> None:
    await live.start()
    await eventually(lambda: live.status()["registered"])
    flags_schema = {n["namespace"]: n for n in source.registered[SERVICE]}["features"]["schema"]
    assert flags_schema["additionalProperties"] == {"type": "boolean"}
    assert live.flag("new_router") is False
    source.put(SERVICE, "features", {"new_router": True, "old_path": False}, 1)
    await live.sync()
    assert live.flag("new_router") is True
    assert live.flag("old_path", default=True) is False
    assert live.status()["flags"] == {"new_router": True, "old_path": False}
    source.delete(SERVICE, "features")
    await live.sync()
    assert live.flags == {}
