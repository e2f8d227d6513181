"""Wiring of the market-data service (8081): connectors, the live pipeline, storage,
continuity, the bus and the API, built from settings by constructor injection."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request

from argosy.kernel.clock import Clock, LiveClock
from argosy.kernel.errors import ArgosyError
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval
from argosy.platform.auth.internal import Principal
from argosy.platform.http.identity import permission_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.live import ConfigNamespace, ConfigSource
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.market_data import api
from argosy.services.market_data.backfill import Backfiller
from argosy.services.market_data.continuity import ContinuityTracker
from argosy.services.market_data.domain.cleaning import OutlierFilter
from argosy.services.market_data.domain.continuity import Stream
from argosy.services.market_data.events import MarketEvents
from argosy.services.market_data.feeds import FeedManager, binance_urls
from argosy.services.market_data.history import History
from argosy.services.market_data.jobs import reconcile_window
from argosy.services.market_data.metrics import register_metrics
from argosy.services.market_data.pipeline import Pipeline
from argosy.services.market_data.service import MarketDataService
from argosy.services.market_data.settings import MarketDataSettings, MarketRuntimeSettings
from argosy.services.market_data.store import MarketStore
from argosy.services.market_data.tables import Retention, ensure_tables
from argosy.services.market_data.writer import SeriesWriter
from argosy.venues.binance.markets import BinanceMarket
from argosy.venues.binance.rest import BinanceRestClient

__all__ = ["create_app"]

log = structlog.get_logger("argosy.market_data")

DESCRIPTION = """Exchange feeds (Binance spot and USD-M natively, other venues through ccxt,
or a replay venue over real recordings), cleaned and stored: trades, L2 snapshots and
deltas, bars at 1s..1d built from trades and checked against the venue's klines. Every gap
is recorded and repaired where the venue allows; a continuity report per instrument and
day says what is complete. Live data on `md.*`; history through this API."""

_INSTRUMENTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"instruments": {
        "type": "array", "maxItems": 1000, "uniqueItems": True,
        "items": {"type": "string",
                  "pattern": r"^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-PERP)?\.[a-z][a-z0-9_]{0,31}$"},
    }},
    "required": ["instruments"],
    "additionalProperties": False,
}


def create_app(
    platform: PlatformSettings | None = None, *, settings: MarketDataSettings | None = None,
    clock: Clock | None = None, config_source: ConfigSource | None = None,
) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    settings = settings or load_settings(MarketDataSettings)
    clock = clock or LiveClock()
    store = MarketStore()
    holder: dict[str, Any] = {}
    tables_ready, instruments_applied = asyncio.Event(), asyncio.Event()

    async def instruments_changed(_ns: str, content: dict[str, Any] | None, version: int
                                  ) -> None:
        await rt.deps.ready("db")
        ids = list(content["instruments"]) if content else list(settings.instruments)
        assert rt.db is not None
        async with rt.db.transaction() as s:
            await store.sync_config(s, ids, by=f"config:v{version}", now=clock.now_ns())
        instruments_applied.set()
        if "feeds" in holder:
            holder["feeds"].wake()

    rt = ServiceRuntime(
        ServiceSpec(
            name="market-data", settings=settings, description=DESCRIPTION,
            uses=frozenset({"db", "cache", "tsdb"}),
            migrations=Path(__file__).parent / "migrations",
            runtime_model=MarketRuntimeSettings,
            namespaces=[ConfigNamespace(
                "instruments", _INSTRUMENTS_SCHEMA,
                "Instruments to record, e.g. {\"instruments\": [\"BTC-USDT.binance\"]}.",
                on_change=instruments_changed)],
        ),
        platform,
        config_source=config_source,
    )
    assert rt.db is not None and rt.tsdb is not None  # noqa: PT018
    db, tsdb = rt.db, rt.tsdb
    history = History(tsdb)
    events = MarketEvents(rt.bus, interval_s=settings.publish_interval_s)
    outliers = OutlierFilter()
    rest: dict[str, BinanceRestClient] = {}

    def rest_for(market: str) -> BinanceRestClient:
        if market not in rest:
            urls = binance_urls(settings, market)
            if urls is None:
                raise ArgosyError(f"binance {market} is off ({settings.binance_mode} mode)",
                                  code="unavailable")
            rest[market] = BinanceRestClient(BinanceMarket(market), base_url=urls[0],
                                             clock=clock)
        return rest[market]

    backfiller = Backfiller(history, rest_for, clock)
    tracker = ContinuityTracker(
        db, store, backfiller, clock_ns=clock.now_ns,
        backfilled=lambda key: holder["feeds"].backfilled(key),
        repair_max_trades=settings.repair_max_trades, repair_delay_s=settings.repair_delay_s,
        on_repaired=lambda key, lo, hi: holder["pipeline"].repaired(key, lo, hi))

    def dropped(table: str, rows: list[tuple[Any, ...]]) -> None:
        if table != "trades" or not rows:
            return
        by_key: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_key.setdefault(row[0], []).append(row)
        for key, mine in by_key.items():
            ids = [r[3] for r in mine if r[3]]
            tracker.storage_dropped(key, Stream.TRADES, min(r[2] for r in mine),
                                    max(r[2] for r in mine), min(ids) if ids else None,
                                    max(ids) if ids else None)

    writer = SeriesWriter(tsdb, flush_rows=settings.flush_rows,
                          flush_interval_s=settings.flush_interval_s,
                          max_rows=settings.max_buffer_rows, on_drop=dropped)
    pipeline = Pipeline(writer, events, rt.cache, outliers=outliers, clock=clock,
                        on_gap=tracker.id_gap, on_resume=tracker.trade_resumed,
                        snapshot_depth=settings.book_snapshot_depth)
    pipeline.awaiting = tracker.awaiting_trade
    holder["pipeline"] = pipeline
    feeds = FeedManager(settings, pipeline, tracker, db, store, events, history, clock)
    holder["feeds"] = feeds
    svc = MarketDataService(db, store, history, pipeline, feeds, backfiller, rt.cache, clock)
    register_metrics(rt.metrics.registry, rt.name, pipeline, writer, events,
                     lambda: feeds.status()["feeds"])

    def tune(live: Any) -> None:
        outliers.band = live.outlier_band
        outliers.min_samples = live.outlier_min_samples
        outliers.quote_max_age_ns = int(live.outlier_quote_max_age_s * 1e9)

    rt.live.on_settings(tune)
    tune(rt.live.settings)

    async def storage() -> None:
        await ensure_tables(tsdb, Retention(settings.trades_retention_days,
                                            settings.bars_retention_days,
                                            settings.book_retention_days))
        tables_ready.set()
        await writer.run()

    async def connectors() -> None:
        await tables_ready.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(instruments_applied.wait(), settings.config_wait_s)
        if not instruments_applied.is_set():  # no instruments document (or no config yet)
            async with db.transaction() as s:
                if not [r for r in await store.subscriptions(s) if r.source == "config"]:
                    await store.sync_config(s, list(settings.instruments), by="settings",
                                            now=clock.now_ns())
        await feeds.run()

    async def reconcile() -> None:
        """Every `reconcile_every_s`: the last hour of 1m bars against the venue's klines.
        Also owns the backfill REST clients, closed when the service stops."""
        try:
            while settings.reconcile_every_s > 0:
                await asyncio.sleep(settings.reconcile_every_s)
                for key, r in list(feeds.recorded.items()):
                    chain = pipeline.chains.get(key)
                    if not r.native or chain is None or not chain.last_ts:
                        continue
                    end = Interval.M1.floor_ns(chain.last_ts)
                    try:
                        await reconcile_window(backfiller, db, store, InstrumentId.parse(key),
                                               end - 60 * Interval.M1.ns, end)
                    except ArgosyError as error:
                        log.warning("md_reconcile_failed", instrument=key, error=error.message)
            await asyncio.Event().wait()
        finally:
            for client in rest.values():
                await client.aclose()

    rt.background("md-storage", storage, needs=("tsdb",))
    rt.background("md-events", events.run, needs=("bus",))
    rt.background("md-continuity", tracker.run, needs=("db",))
    rt.background("md-feeds", connectors, needs=("db", "tsdb"))
    rt.background("md-maintain", feeds.maintain, needs=("db",))
    rt.background("md-reconcile", reconcile, needs=("db", "tsdb"))

    read = permission_dependency(rt.auth, "market:read")
    if settings.public_reads:
        async def anyone(request: Request) -> Principal:
            return Principal("anonymous")

        read = anyone
    admin = permission_dependency(rt.auth, "market:admin")
    app = create_service_app(rt, [api.router(svc, read, admin)])
    app.state.market = svc
    app.state.tracker = tracker
    app.state.writer = writer
    return app
