"""The service's storage opened outside the service, for `argosy backfill`.

A backfill writes where the service reads: the same database (migrated the same way) and
the same tsdb database, found from the same settings. With the embedded chdb only one
process may open the store, so while the platform runs the CLI hands the job to the
service instead (`--service`); a ClickHouse server has no such limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from argosy.kernel.clock import LiveClock
from argosy.platform.db.engine import Database
from argosy.platform.settings import PlatformSettings
from argosy.platform.tsdb.base import TimeSeriesDB
from argosy.platform.tsdb.factory import create_tsdb
from argosy.services.market_data.backfill import Backfiller, RestFor
from argosy.services.market_data.history import History
from argosy.services.market_data.settings import MarketDataSettings
from argosy.services.market_data.store import MarketStore
from argosy.services.market_data.tables import Retention, ensure_tables

__all__ = ["OfflineStorage", "open_storage"]

_MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class OfflineStorage:
    db: Database
    tsdb: TimeSeriesDB
    store: MarketStore
    backfiller: Backfiller


@contextlib.asynccontextmanager
async def open_storage(platform: PlatformSettings, settings: MarketDataSettings,
                       rest_for: RestFor | None) -> AsyncIterator[OfflineStorage]:
    data_dir = platform.data_path
    db = Database(settings.db_url or platform.db_url, service="market-data", data_dir=data_dir,
                  schema_prefix=platform.db_schema_prefix)
    tsdb = create_tsdb(platform.tsdb_url, database="market_data",
                       data_dir=data_dir / "market-data")
    await db.connect(_MIGRATIONS)
    try:
        await tsdb.connect()
        try:
            await ensure_tables(tsdb, Retention(settings.trades_retention_days,
                                                settings.bars_retention_days,
                                                settings.book_retention_days))
            yield OfflineStorage(db, tsdb, MarketStore(),
                                 Backfiller(History(tsdb), rest_for, LiveClock()))
        finally:
            await tsdb.close()
    finally:
        await db.close()
