"""The config service running in-process, once on SQLite and once on the real PostgreSQL.

PostgreSQL: each test gets its own schema prefix (so its own `<prefix>config` schema) in
database `test` at 127.0.0.1:5432, dropped afterwards; the run's prefix is swept at the end
in case a test died before its teardown.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from argosy.platform.bus.base import Envelope
from argosy.platform.runtime.service import ServiceRuntime
from argosy.platform.settings import PlatformSettings
from argosy.services.config.app import create_app
from tests.integration.config._harness import ConfigHarness
from tests.support.postgres import drop_schemas, drop_schemas_sync
from tests.support.servers import POSTGRES_URL, reachable

RUN = f"t{uuid.uuid4().hex[:8]}"
_COUNTER = itertools.count()


@pytest.fixture(scope="session")
def _sweep_postgres() -> Iterator[None]:
    yield
    # in a thread of its own: a test killed by a timeout can leave its loop marked running
    drop_schemas_sync(f"{RUN}%")


@pytest.fixture(params=["sqlite", "postgresql"])
async def config_settings(
    request: pytest.FixtureRequest, platform_settings: PlatformSettings
) -> AsyncIterator[PlatformSettings]:
    if request.param == "sqlite":
        yield platform_settings
        return
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database `test`)")
    request.getfixturevalue("_sweep_postgres")
    prefix = f"{RUN}_{next(_COUNTER)}_"
    yield PlatformSettings(
        data_dir=platform_settings.data_dir, bus_url="memory://",
        db_url=POSTGRES_URL, db_schema_prefix=prefix,
    )
    await drop_schemas(f"{prefix}%")


@pytest.fixture
async def cfg(config_settings: PlatformSettings) -> AsyncIterator[ConfigHarness]:
    """The app started with its lifespan; every `config.changed.*` event lands in .events."""
    app = create_app(config_settings)
    async with app.router.lifespan_context(app):
        runtime: ServiceRuntime = app.state.runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://config") as client:
            harness = ConfigHarness(runtime, client)
            # the service registers its own `settings` schema in the background
            await harness.wait_for(lambda: runtime.live.status()["registered"], within_s=10)

            async def collect(env: Envelope) -> None:
                harness.events.append(env)

            await runtime.bus.subscribe("config.changed.>", collect)
            yield harness
            await _let_the_relay_settle(harness)


async def _let_the_relay_settle(harness: ConfigHarness) -> None:
    """Work-around: OutboxRelay.run waits with asyncio.wait_for, which on Python 3.11
    swallows a cancel that lands just after a commit woke it, so the lifespan's shutdown
    would wait forever. Let it publish and go back to sleep before the app stops."""

    async def drained() -> bool:
        rows = await harness.sql("SELECT COUNT(*) FROM outbox WHERE published_ns IS NULL")
        return bool(rows[0][0] == 0)

    with contextlib.suppress(AssertionError):  # e.g. a test left the bus closed
        await harness.wait_for(drained, within_s=3)
    await asyncio.sleep(0.05)
