"""The optimization and model routers in the running strategy app (real migrations, real
SQLite file and real PostgreSQL schema, local object store, recorded BTC-PERP klines)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import argosy.services.strategy as strategy_pkg
from argosy.platform.auth.internal import Principal
from argosy.platform.http.identity import identity_dependency
from argosy.platform.runtime.app import create_service_app
from argosy.platform.runtime.service import ServiceRuntime, ServiceSpec
from argosy.platform.settings import PlatformSettings
from argosy.services.strategy.api import models, optimizations
from argosy.services.strategy.models_registry import ModelRegistry, ModelService
from argosy.services.strategy.optimizer_service import OptimizationService
from argosy.services.strategy.settings import StrategySettings
from argosy.services.strategy.store_opt import OptimizationStore
from tests.support.servers import POSTGRES_URL, SHARED_DATA, reachable

BTC = "ohlcv/ftx_perp_BTC-PERP_1m.csv"
START_MS = 1_640_995_200_000  # the file's first bar is 2022-01-01T00:00Z (MANIFEST.md)
USER = Principal("user:quant", frozenset({"strategy:*"}))


async def _drop_schemas(like: str) -> None:
    engine = create_async_engine(POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            names = (await conn.execute(text(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE :like"), {"like": like}
            )).scalars().all()
            for name in names:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def settings(request: pytest.FixtureRequest, platform_settings: PlatformSettings,
                   shared_data: Path) -> AsyncIterator[PlatformSettings]:
    if request.param == "sqlite":
        yield platform_settings
        return
    if not reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    prefix = f"topt{uuid.uuid4().hex[:8]}_"
    yield PlatformSettings(data_dir=platform_settings.data_dir, bus_url="memory://",
                           db_url=POSTGRES_URL, db_schema_prefix=prefix)
    await _drop_schemas(f"{prefix}%")


@pytest.fixture
async def api(settings: PlatformSettings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    rt = ServiceRuntime(
        ServiceSpec(name="strategy", settings=StrategySettings(), uses=frozenset({"db", "objects"}),
                    migrations=Path(strategy_pkg.__file__).parent / "migrations"),
        settings,
    )
    assert rt.db is not None
    assert rt.objects is not None
    opt = OptimizationService(rt.db, OptimizationStore(), SHARED_DATA, workers=1,
                              flush_every_s=0.2)
    registry = ModelRegistry(rt.objects)
    identity = identity_dependency(rt.auth)
    app = create_service_app(rt, [optimizations.router(opt, identity),
                                  models.router(ModelService(registry, SHARED_DATA), identity)])
    async with app.router.lifespan_context(app):
        await opt.recover()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://strategy",
                                     headers={"x-argosy-identity": rt.auth.mint(USER)}) as c:
            yield c, registry
        await opt.close()


async def _wait_done(client: httpx.AsyncClient, oid: str) -> dict[str, Any]:
    for _ in range(600):
        body = (await client.get(f"/api/v1/optimizations/{oid}")).json()
        if body["status"] in ("completed", "failed"):
            return body  # type: ignore[no-any-return]
        await asyncio.sleep(0.2)
    raise AssertionError("optimization did not finish")


async def test_optimization_runs_and_reports(api: tuple[httpx.AsyncClient, Any]) -> None:
    client, _ = api
    body = {"strategy": "sma_crossover", "dataset": BTC, "start_ms": START_MS,
            "end_ms": START_MS + 12_000 * 60_000, "method": "tpe",
            "objectives": ["sharpe", "max_drawdown"], "n_trials": 24,
            "space": {"fast": {"low": 2, "high": 30}, "slow": {"low": 10, "high": 120}},
            "walk_forward": {"train": 4000, "test": 2000}}
    created = await client.post("/api/v1/optimizations", json=body)
    assert created.status_code == 202, created.text
    done = await _wait_done(client, created.json()["id"])
    assert done["status"] == "completed", done["error"]
    assert done["progress"] == {"done": 24, "total": 24}
    result = done["result"]
    assert result["best"]
    for trial in result["best"]:
        assert 2 <= trial["params"]["fast"] < trial["params"]["slow"] <= 120
        assert len(trial["values"]) == 2
    assert len(result["walk_forward"]["windows"]) == 4
    listed = (await client.get("/api/v1/optimizations")).json()["items"]
    assert listed[0]["id"] == done["id"]


@pytest.mark.parametrize(("patch", "status", "field"), [
    ({"space": {"fast": {"low": 0, "high": 30}}}, 422, "fast"),
    ({"strategy": "no_such"}, 422, "strategy"),
    ({"objectives": ["luck"]}, 422, "objectives"),
    ({"dataset": "ohlcv/nope.csv"}, 404, "dataset"),
    ({"dataset": "../../etc/passwd.csv"}, 422, "dataset"),
    ({"start_ms": 0, "end_ms": 1000}, 422, "start_ms"),
])
async def test_bad_optimization_requests_are_4xx(api: tuple[httpx.AsyncClient, Any],
                                                 patch: dict[str, Any], status: int,
                                                 field: str) -> None:
    client, _ = api
    body = {"strategy": "sma_crossover", "dataset": BTC, "n_trials": 5, **patch}
    response = await client.post("/api/v1/optimizations", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    missing = await client.get("/api/v1/optimizations/opt_nope")
    assert missing.status_code == 404


async def test_models_train_version_and_load(api: tuple[httpx.AsyncClient, Any]) -> None:
    client, registry = api
    body = {"name": "btc-logit", "dataset": BTC, "start_ms": START_MS,
            "end_ms": START_MS + 8000 * 60_000, "kind": "logistic", "horizon": 5,
            "cv_splits": 3}
    first = await client.post("/api/v1/models", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1
    assert 0.0 <= first.json()["metrics"]["accuracy"] <= 1.0
    second = await client.post("/api/v1/models", json={**body, "kind": "lightgbm",
                                                        "params": {"n_estimators": 20}})
    assert second.json()["version"] == 2
    items = (await client.get("/api/v1/models")).json()["items"]
    assert [(m["name"], m["versions"]) for m in items] == [("btc-logit", [1, 2])]
    v1 = (await client.get("/api/v1/models/btc-logit", params={"version": 1})).json()
    assert v1["kind"] == "logistic"
    assert v1["bars"] == 8000
    model = await registry.load("btc-logit", 2)
    assert model.spec.kind == "lightgbm"
    assert (await client.get("/api/v1/models/nope")).status_code == 404
    bad = await client.post("/api/v1/models", json={**body, "features": ["tea_leaves"]})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "features"
