"""The trading service in-process, on SQLite and on the real PostgreSQL, with the real
paper venue matching against recorded Binance books."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from argosy.platform.settings import PlatformSettings
from tests.integration.trading._harness import TradingHarness, running
from tests.support.postgres import drop_schemas_sync
from tests.support.servers import POSTGRES_URL, reachable

RUN = f"t{uuid.uuid4().hex[:8]}"
_COUNTER = itertools.count()


@pytest.fixture(scope="session")
def _sweep_postgres() -> Iterator[None]:
    yield
    drop_schemas_sync(f"{RUN}%")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_platform(request: pytest.FixtureRequest,
                 platform_settings: PlatformSettings) -> PlatformSettings:
    """Embedded SQLite, or a fresh schema on the real PostgreSQL (dropped at the end)."""
    if request.param == "sqlite":
        return platform_settings
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (database `test`)")
    request.getfixturevalue("_sweep_postgres")
    return PlatformSettings(data_dir=platform_settings.data_dir, bus_url="memory://",
                            db_url=POSTGRES_URL, db_schema_prefix=f"{RUN}_{next(_COUNTER)}_")


@pytest.fixture
async def trading(any_platform: PlatformSettings) -> AsyncIterator[TradingHarness]:
    async with running(any_platform) as h:
        yield h
