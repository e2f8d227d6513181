"""Owners from `users.account.created` are stored: an account that never traded is refused
to other organisations (kill switch, stops → 404), also after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from argosy.contracts.topics import USERS_EVENTS
from argosy.platform.settings import PlatformSettings
from tests.integration.risk.conftest import (
    _COUNTER,
    RUN,
    RiskHarness,
    _drop_schemas,
    risk_settings,
    running,
)
from tests.support.servers import POSTGRES_URL, reachable

ACC, ORG, OTHER = "acc_fresh", "org_own", "org_else"
BTC = "BTC-USDT.binance"
STOP = {"account_id": ACC, "instrument": BTC, "stop_loss": "90"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_platform(
    request: pytest.FixtureRequest, platform_settings: PlatformSettings
) -> AsyncIterator[PlatformSettings]:
    """One database kept across two runs of the service (a restart)."""
    if request.param == "sqlite":
        yield platform_settings
        return
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database `test`)")
    platform = PlatformSettings(
        data_dir=platform_settings.data_dir, bus_url="memory://", db_url=POSTGRES_URL,
        db_schema_prefix=f"{RUN}_{next(_COUNTER)}_",
    )  # fmt: skip
    yield platform
    await _drop_schemas(f"{platform.db_schema_prefix}%")


async def _refused_to_others(h: RiskHarness) -> None:
    intruder = h.user(org=OTHER, admin=True)
    r = await h.call("POST", "/api/v1/risk/kill-switch", intruder,
                     json={"level": "account", "key": ACC, "reason": "not mine"})  # fmt: skip
    assert r.status_code == 404, r.text
    assert r.json()["error"]["field"] == "key"
    r = await h.call("POST", "/api/v1/risk/stops", intruder, json=STOP)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["field"] == "account_id"
    r = await h.call("GET", "/api/v1/risk/exposure", intruder,
                     params={"scope": "account", "key": ACC})  # fmt: skip
    assert r.status_code == 404


async def test_owner_from_account_created_survives_restart(any_platform: PlatformSettings) -> None:
    settings = risk_settings()
    created: dict[str, Any] = {"account_id": ACC, "org": ORG, "user_id": "usr_own"}
    async with running(any_platform, settings) as h:
        await h.publish(USERS_EVENTS["account_created"], created)
        await h.until(lambda: h.state.realtime.book.owner(ACC) is not None)
        await _refused_to_others(h)
        # a (redelivered or forged) event naming another owner does not hand the account over
        await h.publish(USERS_EVENTS["account_created"], {**created, "org": OTHER})
        await h.publish(USERS_EVENTS["account_created"], {**created, "account_id": "acc_probe",
                                                          "org": OTHER})  # fmt: skip
        await h.until(lambda: h.state.realtime.book.owner("acc_probe") is not None)
        assert h.state.realtime.book.owner(ACC).org == ORG
    async with running(any_platform, settings) as h:  # restart: the account never traded
        assert h.state.realtime.book.owner(ACC).org == ORG
        assert h.state.realtime.book.owner(ACC).user_id == "usr_own"
        await _refused_to_others(h)
        owner = h.user(org=ORG, user_id="usr_own", admin=True)
        r = await h.call("POST", "/api/v1/risk/stops", owner, json=STOP)
        assert r.status_code == 201, r.text
        r = await h.call("POST", "/api/v1/risk/kill-switch", owner,
                         json={"level": "account", "key": ACC, "reason": "mine"})  # fmt: skip
        assert r.status_code == 200, r.text
