"""Wiring of the risk service (8085): rules, real-time view, protection, reports, routes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from argosy.kernel.clock import Clock, LiveClock
from argosy.platform.auth.internal import Principal
from argosy.platform.http.identity import identity_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.live import ConfigNamespace
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings, load_settings
from argosy.services.risk.api import realtime as realtime_api
from argosy.services.risk.api import reports as reports_api
from argosy.services.risk.api import rules as rules_api
from argosy.services.risk.api._deps import RequestDeps
from argosy.services.risk.domain.book import RiskBook
from argosy.services.risk.events import subscribe_events
from argosy.services.risk.service._context import Caller, Deps
from argosy.services.risk.service.alerts import AlertsService
from argosy.services.risk.service.exposure import ExposureService
from argosy.services.risk.service.protection import Protection
from argosy.services.risk.service.realtime import RealTime
from argosy.services.risk.service.reports import ReportsService
from argosy.services.risk.service.rules import CONFIG_NAMESPACE, RulesService
from argosy.services.risk.service.stream import ExposureStream
from argosy.services.risk.settings import RiskSettings
from argosy.services.risk.store import RiskStore
from argosy.services.risk.trading import TradingGateway

__all__ = ["create_app"]

DESCRIPTION = """Risk rules (versioned, mirrored to the config service, evaluated in-process
by the trading engine before every order), a dry-run check, kill switches per account, user,
organisation or globally; the real-time view of exposure, PnL, drawdown, concentration and
historical VaR / expected shortfall from fills, positions and marks; automatic protection
(breach → cancel all and flatten, server-side stop-loss / take-profit / trailing stops);
alerts on `risk.alert.<severity>`; daily and on-demand HTML/PDF reports."""

_RULES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rules": {"type": "array"},
        "kill_switches": {"type": "array"},
        "risk_version": {"type": "integer"},
    },
}


def create_app(
    platform: PlatformSettings | None = None,
    *,
    settings: RiskSettings | None = None,
    clock: Clock | None = None,
    trading_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    platform = platform or load_settings(PlatformSettings)
    settings = settings or load_settings(RiskSettings)
    clock = clock or LiveClock()
    late: dict[str, RulesService] = {}

    async def config_changed(ns: str, content: dict[str, Any] | None, version: int) -> None:
        if "rules" in late:
            await late["rules"].on_config_change(ns, content, version)

    rt = ServiceRuntime(
        ServiceSpec(
            name="risk", settings=settings, description=DESCRIPTION,
            uses=frozenset({"db", "objects"}),
            migrations=Path(__file__).parent / "migrations",
            namespaces=[ConfigNamespace(CONFIG_NAMESPACE, _RULES_SCHEMA,
                                        "Risk rule versions (written by the risk service).",
                                        config_changed)],
        ),
        platform,
    )  # fmt: skip
    assert rt.db is not None and rt.outbox is not None  # noqa: PT018
    deps = Deps(
        db=rt.db, store=RiskStore(), outbox=rt.outbox, bus=rt.bus, clock=clock,
        settings=settings, objects=rt.objects,
    )  # fmt: skip
    book = RiskBook()
    rules = late["rules"] = RulesService(deps, rt.client("config"), book)
    trading = TradingGateway(
        platform.url_of("trading"), rt.auth, timeout_s=settings.trading_timeout_s,
        transport=trading_transport,
    )  # fmt: skip
    protection = Protection(deps, book, rules, trading)
    rules.on_kill_switch(protection.on_kill_switch)
    realtime = RealTime(deps, book, protection)
    exposure = ExposureService(deps, realtime)
    stream = ExposureStream(deps, realtime)
    reports = ReportsService(deps, exposure)
    operator = Caller(Principal("service:risk", frozenset({"risk:read"})), None, None)
    consuming = asyncio.Event()  # set once the state is loaded and subscriptions exist

    async def consume() -> None:
        await rules.load()
        await realtime.load()
        await protection.load()
        await subscribe_events(rt.bus, realtime, rules, settings.consumer_members)
        consuming.set()

    async def act() -> None:
        await consuming.wait()
        try:
            await protection.run()
        finally:
            await trading.close_all()

    async def flush() -> None:
        await consuming.wait()
        try:
            await realtime.flush_loop()
        finally:
            await realtime.flush()

    async def publish() -> None:
        await consuming.wait()
        await stream.loop()

    async def daily() -> None:
        await consuming.wait()
        await reports.daily_loop(operator)

    rt.background("risk-consume", consume, needs=("db", "bus"))
    rt.background("risk-actions", act, needs=("db", "bus"))
    rt.background("risk-flush", flush, needs=("db",))
    rt.background("risk-exposure", publish, needs=("db",))
    rt.background("risk-mirror", rules.mirror_loop, needs=("db",))
    rt.background("risk-reports", daily, needs=("db", "objects"))
    ids = RequestDeps(identity_dependency(rt.auth))
    app = create_service_app(rt, [
        rules_api.router(ids, rules, exposure),
        realtime_api.router(ids, exposure, AlertsService(deps), protection),
        reports_api.router(ids, reports),
    ])  # fmt: skip
    app.state.risk = deps
    app.state.realtime = realtime
    app.state.protection = protection
    app.state.rules = rules
    app.state.reports = reports
    app.state.stream = stream
    app.state.consuming = consuming
    return app
