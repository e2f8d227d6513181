"""Wiring of the strategy service (8084)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from argosy.platform.http.identity import identity_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.strategy.api import deployments as deployments_api
from argosy.services.strategy.api import models, optimizations, strategies
from argosy.services.strategy.backtest.data import Catalog
from argosy.services.strategy.deployments import DeploymentService
from argosy.services.strategy.live.instruments import InstrumentRows, MarketInstruments
from argosy.services.strategy.live.port import HttpTrading
from argosy.services.strategy.models_registry import ModelRegistry, ModelService
from argosy.services.strategy.optimizer_service import OptimizationService
from argosy.services.strategy.plugins import StrategyRegistry
from argosy.services.strategy.runner import BacktestRunner
from argosy.services.strategy.service import StrategyService
from argosy.services.strategy.settings import StrategySettings
from argosy.services.strategy.store import StrategyStore
from argosy.services.strategy.store_dep import DeploymentStore
from argosy.services.strategy.store_opt import OptimizationStore

__all__ = ["create_app"]

DESCRIPTION = """Strategy plugins (built-ins, `argosy.strategies` entry points, a watched
directory), event-driven backtests over recorded data through the paper venue's matching,
optimisation and live deployments (issue #7)."""


def create_app(platform: PlatformSettings | None = None,
               settings: StrategySettings | None = None, *,
               trading_transport: httpx.AsyncBaseTransport | None = None,
               instruments: InstrumentRows | None = None) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    settings = settings or load_settings(StrategySettings)
    rt = ServiceRuntime(
        ServiceSpec(name="strategy", settings=settings, description=DESCRIPTION,
                    uses=frozenset({"db", "objects"}),
                    permissions=frozenset({"market:read"}),
                    migrations=Path(__file__).parent / "migrations"),
        platform,
    )
    assert rt.db is not None
    assert rt.objects is not None
    registry = StrategyRegistry(settings.strategies_dir)
    runner = BacktestRunner(settings.backtest_workers, str(settings.data_dir),
                            str(settings.strategies_dir) if settings.strategies_dir else None)
    svc = StrategyService(rt.db, StrategyStore(), rt.objects, registry,
                          Catalog(settings.data_dir), runner,
                          equity_points=settings.equity_points)

    opt = OptimizationService(rt.db, OptimizationStore(), settings.data_dir,
                              workers=settings.optimizer_workers,
                              storage=settings.optuna_storage)
    model_registry = ModelRegistry(rt.objects)
    trained = ModelService(model_registry, settings.data_dir)
    svc.models = model_registry

    market = rt.client("market-data")

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

    assert rt.outbox is not None
    live = DeploymentService(
        rt.db, DeploymentStore(), rt.outbox, rt.bus, registry,
        lambda user, org: HttpTrading(platform.url_of("trading"), rt.auth, user, org,
                                      transport=trading_transport),
        MarketInstruments(instruments or fetch_instruments), models=model_registry)

    async def deployments() -> None:
        """Resume the deployments a previous process ran; stop the runners at shutdown."""
        try:
            await live.recover()
            await asyncio.Event().wait()
        finally:
            await live.close()

    async def lifecycle() -> None:
        """Abandon runs a previous process left, then hold the pools until shutdown."""
        await svc.recover()
        await opt.recover()
        try:
            await asyncio.Event().wait()
        finally:
            await svc.close()
            await opt.close()

    rt.background("backtests", lifecycle, needs=("db", "objects"))
    rt.background("deployments", deployments, needs=("db", "bus"))
    if settings.strategies_dir is not None and settings.watch_strategies:
        rt.background("plugin-watch", registry.watch)
    identity = identity_dependency(rt.auth)
    app = create_service_app(rt, [strategies.router(svc, identity),
                                  optimizations.router(opt, identity),
                                  models.router(trained, identity),
                                  deployments_api.router(live, identity)])
    app.state.strategy_service = svc
    app.state.deployments = live
    return app
