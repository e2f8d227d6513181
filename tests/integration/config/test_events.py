"""`config.changed.<service>` leaves through the outbox after commit, and live config follows."""

from __future__ import annotations

import logging

import pytest

from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from tests.integration.config._harness import OPERATOR, ConfigHarness

pytestmark = pytest.mark.integration

LIMITS = {"limits": {"max_qty": 3}}


@pytest.fixture
async def risk(cfg: ConfigHarness) -> ConfigHarness:
    assert (await cfg.register()).status_code == 200
    return cfg


async def test_changed_is_published_after_commit(risk: ConfigHarness) -> None:
    r = await risk.put("risk/limits", LIMITS, headers={"x-request-id": "rid-evt-1"})
    assert r.status_code == 201
    await risk.wait_for(lambda: len(risk.changed_events()) == 1)
    body = risk.changed_events()[0]
    assert {k: body[k] for k in ("service", "namespace", "version", "action", "author")} == {
        "service": "risk", "namespace": "limits", "version": 1, "action": "create",
        "author": "operator:alice",
    }
    assert isinstance(body["changed_ns"], int)
    assert body["changed_ns"] > 1_600_000_000 * 10**9
    env = next(e for e in risk.events if e.topic == "config.changed.risk")
    assert env.correlation_id == "rid-evt-1"
    assert env.headers.get("x-argosy-source") == "config"

    await risk.put("risk/limits", {"limits": {"max_qty": 4}})
    await risk.rollback("risk/limits", 1)
    await risk.delete("risk/limits")
    await risk.wait_for(lambda: len(risk.changed_events()) == 4)
    assert [(e["version"], e["action"]) for e in risk.changed_events()] == [
        (1, "create"), (2, "update"), (3, "rollback"), (4, "delete")]
    pending = await risk.sql("SELECT COUNT(*) FROM outbox WHERE published_ns IS NULL")
    assert pending[0][0] == 0


async def test_failed_or_unchanged_writes_publish_nothing(risk: ConfigHarness) -> None:
    await risk.put("risk/limits", LIMITS)
    await risk.wait_for(lambda: len(risk.changed_events()) == 1)
    outbox_before = await risk.sql("SELECT COUNT(*) FROM outbox")
    assert (await risk.put("risk/limits", {"limits": {"max_qty": "x"}})).status_code == 422
    assert (await risk.put("risk/limits", LIMITS, expected_version=9)).status_code == 409
    assert (await risk.put("risk/limits", LIMITS)).headers["x-argosy-changed"] == "false"
    assert await risk.sql("SELECT COUNT(*) FROM outbox") == outbox_before
    assert risk.runtime.relay is not None
    risk.runtime.relay.wake()
    await risk.put("risk/params/marker", {"a": 1})  # a later event proves the relay ran
    await risk.wait_for(lambda: len(risk.changed_events()) == 2)
    assert [e["namespace"] for e in risk.changed_events()] == ["limits", "params/marker"]


async def test_outbox_row_survives_a_bus_outage(risk: ConfigHarness) -> None:
    rt = risk.runtime
    assert rt.relay is not None
    await rt.bus.close()  # the in-memory bus drops its subscribers when it closes
    r = await risk.put("risk/limits", LIMITS)
    assert r.status_code == 201  # the write does not need the bus

    async def relay_tried() -> bool:
        rows = await risk.sql("SELECT attempts FROM outbox WHERE published_ns IS NULL")
        return bool(rows) and rows[-1][0] >= 1

    await risk.wait_for(relay_tried, within_s=5)
    rows = await risk.sql(
        "SELECT topic, published_ns, attempts, last_error FROM outbox ORDER BY id")
    topic, published, attempts, error = rows[-1]
    assert (topic, published) == ("config.changed.risk", None)
    assert attempts >= 1
    assert "closed" in error

    await rt.bus.connect()
    got: list[Envelope] = []

    async def collect(env: Envelope) -> None:
        got.append(env)

    await rt.bus.subscribe("config.changed.risk", collect)
    rt.relay.wake()
    await risk.wait_for(lambda: len(got) == 1, within_s=5)
    assert got[0].json()["version"] == 1

    async def marked() -> bool:  # the relay marks the row after the bus accepted it
        return (await risk.sql("SELECT published_ns FROM outbox ORDER BY id"))[-1][0] is not None

    await risk.wait_for(marked, within_s=5)


async def test_live_settings_push_reaches_the_running_service(cfg: ConfigHarness) -> None:
    root = logging.getLogger()
    level = root.level
    try:
        r = await cfg.put("config/settings", {"log_level": "debug"})
        assert r.status_code == 201, r.text
        await cfg.wait_for(lambda: cfg.runtime.live.settings.log_level == "debug", within_s=5)
        assert root.level == logging.DEBUG
        ops = Principal("operator:bob", frozenset({"ops:read"}))
        r = await cfg.client.get("/internal/runtime", headers=cfg.as_(ops))
        assert r.status_code == 200
        body = r.json()
        assert body["service"] == "config"
        assert body["settings"]["log_level"] == "debug"
        assert body["config"]["versions"] == {"settings": 1}
        assert body["config"]["registered"] is True
        r = await cfg.client.get("/internal/runtime", headers=cfg.as_(OPERATOR))
        assert r.status_code == 403  # config:* is not ops:read

        r = await cfg.put("config/settings", {"log_level": "shouting"})
        assert r.status_code == 422
        assert r.json()["error"]["field"] == "content.log_level"
        await cfg.delete("config/settings")
        await cfg.wait_for(lambda: cfg.runtime.live.settings.log_level == "info", within_s=5)
    finally:
        root.setLevel(level)
