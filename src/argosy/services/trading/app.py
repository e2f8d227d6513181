"""Wiring of the trading service (8082): venues, market data, recovery, routes.

Start-up order matters for safety: the database is migrated, then every account with
orders is reconciled with its venue (recovery.py) while the API already answers; an
account's new orders are refused until its reconciliation succeeded, cancels are not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI

from argosy.contracts.topics import RISK_RULES_CHANGED, USERS_EVENTS
from argosy.kernel.clock import Clock, LiveClock
from argosy.kernel.errors import ArgosyError
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.platform.http.identity import identity_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.trading import api, api_algos
from argosy.services.trading.events import GROUP
from argosy.services.trading.instruments import InstrumentCatalog, InstrumentFetch
from argosy.services.trading.marks import Marks
from argosy.services.trading.service._context import Deps
from argosy.services.trading.service.accounts import AccountsIntake
from argosy.services.trading.service.algo_driver import AlgoDriver
from argosy.services.trading.service.algos import AlgoService, CandleFetch
from argosy.services.trading.service.execution import Executions
from argosy.services.trading.service.margin import LeverageService
from argosy.services.trading.service.market_feed import BookFetch, MarketFeed
from argosy.services.trading.service.marking import Marking
from argosy.services.trading.service.orders import OrdersService
from argosy.services.trading.service.queries import QueriesService
from argosy.services.trading.service.recovery import Reconciler
from argosy.services.trading.service.rules import RulesFetch, RulesLoader
from argosy.services.trading.service.sending import Sender
from argosy.services.trading.settings import TradingSettings
from argosy.services.trading.store import TradingStore
from argosy.services.trading.venues import (
    AccountInfo,
    Credentials,
    ExchangeFactory,
    PaperFactory,
    VenueHandle,
    VenueRegistry,
    paper_factory,
)

__all__ = ["create_app"]

log = structlog.get_logger("argosy.trading")

DESCRIPTION = """Orders, fills, positions and balances. Every order is written before it
is sent and reconciled with its venue after a crash; unknown outcomes are a state
(`submitted_unknown`), not a failure. Paper accounts trade on the in-process paper venue
over live market data; exchange accounts on their venue's adapter."""


def _exchange_factories(clock: Clock) -> dict[str, ExchangeFactory]:
    """Adapters present in this build (Binance spot through venues/binance)."""
    try:
        from argosy.venues.binance.execution import BinanceExecution
        from argosy.venues.binance.execution import Credentials as BinanceCredentials
        from argosy.venues.binance.markets import BinanceMarket
    except ImportError:
        return {}

    def binance(account: AccountInfo, creds: Credentials, instruments: list[Instrument]
                ) -> Any:
        spot = [i.id for i in instruments if i.venue == "binance"
                and i.kind is InstrumentKind.SPOT]
        return BinanceExecution(BinanceMarket.SPOT,
                                BinanceCredentials(creds.api_key, creds.api_secret),
                                instruments=spot, clock=clock)

    return {"binance": binance}


def create_app(
    platform: PlatformSettings | None = None, *, settings: TradingSettings | None = None,
    clock: Clock | None = None, paper: PaperFactory | None = None,
    instruments: InstrumentFetch | None = None, books: BookFetch | None = None,
    exchanges: Mapping[str, ExchangeFactory] | None = None, rules: RulesFetch | None = None,
    credentials: Callable[[str], Awaitable[Credentials]] | None = None,
    candles: CandleFetch | None = None,
) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    settings = settings or load_settings(TradingSettings)
    clock = clock or LiveClock()
    rt = ServiceRuntime(
        ServiceSpec(name="trading", settings=settings, description=DESCRIPTION,
                    uses=frozenset({"db"}), migrations=Path(__file__).parent / "migrations",
                    permissions=frozenset({"market:read", "risk:read"})),
        platform,
    )
    assert rt.db is not None
    assert rt.outbox is not None
    market, users, risk = rt.client("market-data"), rt.client("users"), rt.client("risk")

    async def fetch_instruments() -> list[Mapping[str, Any]]:
        rows: list[Mapping[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = await market.get_json("/api/v1/market/instruments", params=params)
            rows += page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return rows

    async def fetch_book(instrument: str) -> Mapping[str, Any]:
        book: Mapping[str, Any] = await market.get_json(
            "/api/v1/market/book", params={"instrument": instrument, "depth": 50})
        return book

    async def fetch_candles(instrument: str, interval: str, start_ns: int
                            ) -> list[Mapping[str, Any]]:
        rows: list[Mapping[str, Any]] = []
        params: dict[str, Any] = {"instrument": instrument, "interval": interval,
                                  "start": str(start_ns), "limit": 1000}
        for _ in range(20):  # 30 days of 15m bars are 3 pages
            page = await market.get_json("/api/v1/market/candles", params=params)
            rows += page.get("items", [])
            if not page.get("next_cursor"):
                break
            params = {**params, "cursor": page["next_cursor"]}
        return rows

    async def fetch_credentials(account_id: str) -> Credentials:
        body = await users.get_json(f"/internal/v1/credentials/{account_id}")
        return Credentials(body["api_key"], body["api_secret"], body.get("passphrase"))

    async def fetch_rules() -> Any:
        return await risk.get_json(settings.risk_rules_path)

    if paper is None:
        from argosy.venues.paper import PaperSettings

        paper = paper_factory(clock, PaperSettings(
            latency_ns=settings.paper_latency_ms * 1_000_000,
            slippage_bps=Decimal(settings.paper_slippage_bps),
            default_leverage=settings.perp_leverage))
    registry = VenueRegistry(paper, exchanges if exchanges is not None
                             else _exchange_factories(clock), credentials or fetch_credentials)
    marks = Marks()
    deps = Deps(db=rt.db, store=TradingStore(), outbox=rt.outbox, clock=clock,
                settings=settings,
                instruments=InstrumentCatalog(instruments or fetch_instruments,
                                              settings.instruments_ttl_s),
                marks=marks, venues=registry)
    executions = Executions(deps)
    sender = Sender(deps, executions)
    feed = MarketFeed(marks, registry, books or fetch_book)
    reconciler = Reconciler(deps, sender, executions, feed.ensure_book)
    orders = OrdersService(deps, sender, executions, reconciler, feed)
    queries = QueriesService(deps)
    intake = AccountsIntake(deps)
    marking = Marking(deps)
    loader = RulesLoader(deps.gate, rules or fetch_rules, settings.rules_reload_s)
    driver = AlgoDriver(deps, orders, sender, feed)
    algos = AlgoService(deps, driver, candles or fetch_candles)
    fresh: asyncio.Queue[tuple[str, VenueHandle]] = asyncio.Queue()
    registry.on_new(lambda account_id, handle: fresh.put_nowait((account_id, handle)))

    async def consume_reports(account_id: str, handle: VenueHandle) -> None:
        while True:
            try:
                async for report in handle.venue.reports():
                    await executions.apply(account_id, report, "stream")
            except asyncio.CancelledError:
                raise
            except (ArgosyError, Exception) as exc:  # keep consuming; reconcile catches up
                log.warning("reports.consumer_error", account=account_id, error=str(exc))
                await asyncio.sleep(1.0)

    async def reports() -> None:
        consumers: set[asyncio.Task[None]] = set()
        try:
            while True:
                account_id, handle = await fresh.get()
                consumers.add(asyncio.create_task(consume_reports(account_id, handle),
                                                  name=f"trading-reports-{account_id}"))
        finally:
            for task in consumers:
                task.cancel()
            if consumers:  # finished here, not left to whoever closes the loop
                await asyncio.wait(consumers, timeout=5.0)
            for handle in registry.handles().values():  # exchange sessions and streams
                close = getattr(handle.venue, "aclose", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(close(), 10.0)

    async def consume() -> None:
        await rt.bus.subscribe(USERS_EVENTS["account_created"], intake.on_event, group=GROUP,
                               max_deliver=10)
        await rt.bus.subscribe(RISK_RULES_CHANGED, loader.on_changed)
        await feed.subscribe(rt.bus)
        await rt.bus.subscribe("md.trade.>", driver.on_trades)  # POV's traded volume
        consuming.set()

    async def recover() -> None:
        try:
            await deps.instruments.refresh()
        except ArgosyError as exc:
            log.warning("instruments.unavailable_at_start", error=exc.message)
        await reconciler.startup()
        recovered.set()
        await reconciler.resolve_unknown()

    consuming, recovered = asyncio.Event(), asyncio.Event()
    rt.background("trading-reports", reports)
    rt.background("trading-consume", consume, needs=("db", "bus"))
    rt.background("trading-recover", recover, needs=("db",))
    rt.background("trading-rules", loader.run)
    rt.background("trading-marking", marking.run, needs=("db",))
    rt.background("trading-algos", lambda: driver.run(settings.algo_tick_s, recovered.wait),
                  needs=("db",))
    if settings.market_snapshot_poll_s > 0:
        rt.background("trading-book-poll", lambda: feed.poll(settings.market_snapshot_poll_s))
    app = create_service_app(rt, [
        api.router(identity_dependency(rt.auth), orders, queries, LeverageService(deps)),
        api_algos.router(identity_dependency(rt.auth), algos),
    ])
    app.state.trading = deps
    app.state.reconciler = reconciler
    app.state.executions = executions
    app.state.intake = intake
    app.state.feed = feed
    app.state.rules = loader
    app.state.marking = marking
    app.state.algos = algos
    app.state.consuming = consuming
    app.state.recovered = recovered
    return app
