"""The strategy service in-process (SQLite, local object store, memory bus), with a
strategies directory of its own and the real recordings in ../shared/data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from argosy.platform.auth.internal import Principal
from argosy.platform.runtime.service import ServiceRuntime
from argosy.platform.settings import PlatformSettings
from argosy.services.strategy.app import create_app
from argosy.services.strategy.settings import StrategySettings
from tests.support.servers import SHARED_DATA

OPERATOR = Principal("operator:test", frozenset({"strategy:*"}))

FAULTY = '''
from argosy.services.strategy.domain.strategy import Strategy


class Faulty(Strategy):
    """Raises on its 10th bar."""

    def on_start(self) -> None:
        self.n = 0

    def on_bar(self, bar) -> None:
        self.n += 1
        if self.n == 10:
            raise RuntimeError("faulty plugin on bar 10")


class Killer(Strategy):
    """Kills its own process on the first bar."""

    def on_bar(self, bar) -> None:
        import os
        os._exit(3)
'''


@dataclass
class Harness:
    runtime: ServiceRuntime
    client: httpx.AsyncClient
    strategies_dir: Path

    def headers(self) -> dict[str, str]:
        return {"x-argosy-identity": self.runtime.auth.mint(OPERATOR)}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.headers())

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.headers())

    async def finished(self, backtest_id: str, within_s: float = 120.0, **params: Any
                       ) -> dict[str, Any]:
        async with asyncio.timeout(within_s):
            while True:
                doc: dict[str, Any] = (await self.get(f"/api/v1/backtests/{backtest_id}",
                                                      **params)).json()
                if doc["status"] in ("completed", "failed"):
                    return doc
                await asyncio.sleep(0.2)


MakeHarness = Callable[[], Any]


@pytest.fixture
async def strategy_service(platform_settings: PlatformSettings, tmp_path: Path
                           ) -> AsyncIterator[Harness]:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "faulty.py").write_text(FAULTY)
    (plugins / "broken.py").write_text("raise ImportError('broken on purpose')\n")
    settings = StrategySettings(data_dir=SHARED_DATA, strategies_dir=plugins,
                                backtest_workers=1)
    app = create_app(platform_settings, settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://strategy") as client:
            yield Harness(app.state.runtime, client, plugins)
