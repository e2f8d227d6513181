"""The risk service in-process, on SQLite and on the real PostgreSQL.

The trading service's HTTP API is recorded by an `httpx.MockTransport` handler (the
trading service is built in parallel; the risk side of the contract is what is checked:
path, identity, body). The bus is the in-memory one; events are published on it exactly
as the trading and market-data services publish them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from argosy.platform.settings import PlatformSettings
from argosy.services.risk.app import create_app
from argosy.services.risk.settings import RiskSettings
from tests.support.servers import POSTGRES_URL, reachable

RUN = f"rk{uuid.uuid4().hex[:8]}"
_COUNTER = itertools.count()
OPERATOR = Principal("operator:test", frozenset({"risk:read", "risk:admin"}))


class OffsetClock:
    def __init__(self) -> None:
        self.offset_ns = 0

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns

    def advance(self, seconds: float) -> None:
        self.offset_ns += int(seconds * 1_000_000_000)


@dataclass
class TradingCall:
    method: str
    path: str
    body: Any
    principal: Principal


@dataclass
class RiskHarness:
    client: httpx.AsyncClient
    state: Any
    runtime: Any
    clock: OffsetClock
    trading: list[TradingCall] = field(default_factory=list)
    published: list[Envelope] = field(default_factory=list)

    def user(
        self, org: str = "org_a", user_id: str | None = None, admin: bool = False
    ) -> Principal:
        perms = {"risk:read", "orders:read", "orders:write"} | ({"risk:admin"} if admin else set())
        return Principal(f"user:{user_id or 'usr_' + uuid.uuid4().hex[:8]}", frozenset(perms), org)

    async def call(
        self, method: str, url: str, who: Principal | None = OPERATOR, **kw: Any
    ) -> httpx.Response:
        headers = {"x-argosy-identity": self.runtime.auth.mint(who)} if who else {}
        return await self.client.request(method, url, headers=headers, **kw)

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        await self.runtime.bus.publish_json(topic, payload)

    async def until(self, cond: Callable[[], bool | Awaitable[bool]], within_s: float = 5) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            result = cond()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("condition not reached in time")

    def topics(self, prefix: str) -> list[dict[str, Any]]:
        return [e.json() for e in self.published if e.topic.startswith(prefix)]


def _trading_handler(calls: list[TradingCall], auth: Any) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        principal = auth().verify(request.headers.get("x-argosy-identity"))
        body = json.loads(request.content) if request.content else None
        calls.append(TradingCall(request.method, request.url.path, body, principal))
        return httpx.Response(200 if "cancel" in request.url.path else 201, json={"ok": True})

    return httpx.MockTransport(handle)


async def _drop_schemas(like: str) -> None:
    engine = create_async_engine(POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            names = (
                (
                    await conn.execute(
                        text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :like"),
                        {"like": like},
                    )
                )
                .scalars()
                .all()
            )
            for name in names:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def _sweep_postgres() -> Iterator[None]:
    yield
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _drop_schemas(f"{RUN}%")).result()


@pytest.fixture
def risk_overrides() -> dict[str, Any]:
    return {}


@contextlib.asynccontextmanager
async def running(
    platform: PlatformSettings, settings: RiskSettings, clock: OffsetClock | None = None
) -> AsyncIterator[RiskHarness]:
    clock = clock or OffsetClock()
    calls: list[TradingCall] = []
    holder: dict[str, Any] = {}
    app = create_app(
        platform, settings=settings, clock=clock,
        trading_transport=_trading_handler(calls, lambda: holder["auth"]),
    )  # fmt: skip
    holder["auth"] = app.state.runtime.auth
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://risk") as client:
            h = RiskHarness(client, app.state, app.state.runtime, clock, calls)

            async def collect(env: Envelope) -> None:
                h.published.append(env)

            await h.runtime.bus.subscribe("risk.>", collect)
            await h.runtime.deps.ready("db", "bus")
            await asyncio.wait_for(app.state.consuming.wait(), 10)
            yield h


def risk_settings(**overrides: Any) -> RiskSettings:
    return RiskSettings.model_validate(
        {"flush_s": 0.05, "config_sync_s": 60, "breach_confirm_s": 0.1, **overrides}
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def risk_any_db(
    request: pytest.FixtureRequest, platform_settings: PlatformSettings,
    risk_overrides: dict[str, Any],
) -> AsyncIterator[RiskHarness]:  # fmt: skip
    platform = platform_settings
    if request.param == "postgresql":
        if not reachable("127.0.0.1", 5432):
            pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database `test`)")
        request.getfixturevalue("_sweep_postgres")
        platform = PlatformSettings(
            data_dir=platform_settings.data_dir, bus_url="memory://", db_url=POSTGRES_URL,
            db_schema_prefix=f"{RUN}_{next(_COUNTER)}_",
        )  # fmt: skip
    async with running(platform, risk_settings(**risk_overrides)) as h:
        yield h
    if request.param == "postgresql":
        await _drop_schemas(f"{platform.db_schema_prefix}%")


@pytest.fixture
async def risk(
    platform_settings: PlatformSettings, risk_overrides: dict[str, Any]
) -> AsyncIterator[RiskHarness]:
    """SQLite only."""
    async with running(platform_settings, risk_settings(**risk_overrides)) as h:
        yield h
