"""The users service running in-process: on SQLite and on the real PostgreSQL (a schema
per test, dropped afterwards), with an in-memory cache, or Redis for the throttling tests.

Argon2 runs at test parameters here (`argon2_allow_weak`); the production defaults are
asserted separately (tests/unit/services/users/test_passwords_policy.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from argosy.platform.bus.base import Envelope
from argosy.platform.settings import PlatformSettings
from argosy.services.users.app import create_app
from argosy.services.users.settings import UsersSettings
from tests.integration.users._harness import OffsetClock, UsersHarness
from tests.support.postgres import drop_schemas, drop_schemas_sync
from tests.support.servers import POSTGRES_URL, REDIS_URL, reachable

RUN = f"u{uuid.uuid4().hex[:8]}"
_COUNTER = itertools.count()

FAST = {"argon2_allow_weak": True, "argon2_memory_kib": 1024, "argon2_time_cost": 1,
        "argon2_parallelism": 1}


def users_settings(**overrides: object) -> UsersSettings:
    return UsersSettings.model_validate({**FAST, **overrides})


@pytest.fixture(scope="session")
def _sweep_postgres() -> Iterator[None]:
    yield
    drop_schemas_sync(f"{RUN}%")


def _postgres(request: pytest.FixtureRequest, data_dir: Path) -> PlatformSettings:
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database `test`)")
    request.getfixturevalue("_sweep_postgres")
    return PlatformSettings(data_dir=data_dir, bus_url="memory://", db_url=POSTGRES_URL,
                            db_schema_prefix=f"{RUN}_{next(_COUNTER)}_")


@pytest.fixture(params=["sqlite", "postgresql"])
async def users_platform(request: pytest.FixtureRequest,
                         platform_settings: PlatformSettings) -> AsyncIterator[PlatformSettings]:
    if request.param == "sqlite":
        yield platform_settings
        return
    settings = _postgres(request, platform_settings.data_dir)
    yield settings
    await drop_schemas(f"{settings.db_schema_prefix}%")


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change the service's settings."""
    return {}


@contextlib.asynccontextmanager
async def running(platform: PlatformSettings, settings: UsersSettings,
                  clock: OffsetClock) -> AsyncIterator[UsersHarness]:
    app = create_app(platform, settings=settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://users") as client:
            h = UsersHarness(app.state.runtime, client, settings, clock)

            async def collect(env: Envelope) -> None:
                h.events.append(env)

            await h.runtime.bus.subscribe("users.>", collect)
            yield h
            await _settle(h)


@pytest.fixture
async def users(users_platform: PlatformSettings,
                settings_overrides: dict[str, object]) -> AsyncIterator[UsersHarness]:
    async with running(users_platform, users_settings(**settings_overrides),
                       OffsetClock()) as h:
        yield h


@pytest.fixture
async def users_sqlite(platform_settings: PlatformSettings,
                       settings_overrides: dict[str, object]) -> AsyncIterator[UsersHarness]:
    """SQLite only: for tests whose subject does not depend on the database."""
    async with running(platform_settings, users_settings(**settings_overrides),
                       OffsetClock()) as h:
        yield h


@pytest.fixture
async def users_redis(platform_settings: PlatformSettings,
                      settings_overrides: dict[str, object]) -> AsyncIterator[UsersHarness]:
    """Redis as the cache (its namespace is unique to this data dir); keys deleted after."""
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    platform = PlatformSettings(data_dir=platform_settings.data_dir, bus_url="memory://",
                                cache_url=REDIS_URL)
    try:
        async with running(platform, users_settings(**settings_overrides), OffsetClock()) as h:
            namespace = f"argosy:{h.runtime.instance}:"
            try:
                yield h
            finally:
                keys = [k async for k in client.scan_iter(match=f"{namespace}*")]
                if keys:
                    await client.delete(*keys)
    finally:
        await client.aclose()


async def _settle(h: UsersHarness) -> None:
    """Let the outbox relay publish and go back to sleep before the app stops (see the
    config tests' conftest for why)."""

    async def drained() -> bool:
        rows = await h.sql("SELECT COUNT(*) FROM outbox WHERE published_ns IS NULL")
        return bool(rows[0][0] == 0)

    with contextlib.suppress(AssertionError):
        await h.wait_for(drained, within_s=3)
    await asyncio.sleep(0.05)
