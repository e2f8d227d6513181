"""The market-data service in-process, fed by a replay server over the real recordings.

Storage is the embedded chdb (one path per test; chdb allows one open path per process,
and each harness closes its store on exit), the database SQLite, the bus and the cache
in memory. The replay server is the venue: the service's Binance connector is pointed at
it exactly as `argosy run` points it at the replay child.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from argosy.contracts import headers as h
from argosy.kernel.money import Price, Quantity
from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from argosy.platform.runtime.service import ServiceRuntime
from argosy.platform.settings import PlatformSettings
from argosy.services.market_data.app import create_app
from argosy.services.market_data.continuity import ContinuityTracker
from argosy.services.market_data.service import MarketDataService
from argosy.services.market_data.settings import MarketDataSettings
from argosy.services.market_data.writer import SeriesWriter
from argosy.venues.replay.recordings import Recording, load_recording
from argosy.venues.replay.server import ReplayServer, ReplaySettings
from tests.support.binance_data import trade_rows
from tests.support.servers import SHARED_DATA

SPOT_WS = "ws/binance_spot_BTCUSDT_20240808.jsonl.gz"
SPOT_TRADES = "trades/binance_spot_BTCUSDT_trades.csv"
SPOT_SNAP = "book/binance_spot_BTCUSDT_rest_depth_snapshots.jsonl"
USDM_WS = "ws/binance_usdm_BTCUSDT_20240808.jsonl.gz"
USDM_TRADES = "trades/binance_usdm_BTCUSDT_trades.csv"
USDM_SNAP = "book/binance_usdm_BTCUSDT_rest_depth_snapshots.jsonl"
XRP_AGG = "trades/binance_spot_XRPETH_aggtrades.csv"
XRP_1M = "ohlcv/binance_spot_XRPETH_1m.csv"
XRP_5M = "ohlcv/binance_spot_XRPETH_5m.csv"
SPOT = "BTC-USDT.binance"
PERP = "BTC-USDT-PERP.binance"
OPERATOR = frozenset({"market:read", "market:admin"})


@functools.cache
def recording(files: tuple[str, ...]) -> Recording:
    return load_recording([SHARED_DATA / f for f in files])


def checksum(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def recorded_trades(csv_name: str, until_ns: int | None = None) -> list[str]:
    """`id|price|qty|side` of the recorded trades (received by `until_ns`), canonical."""
    return [
        f"{r['trade_id']}|{Price(r['price']).to_str()}|{Quantity(r['qty']).to_str()}|"
        f"{'sell' if r['is_buyer_maker'] == 'true' else 'buy'}"
        for r in trade_rows(csv_name) if until_ns is None or int(r["recv_ts_ns"]) <= until_ns
    ]


def stored_lines(rows: list[tuple[Any, ...]]) -> list[str]:
    return [f"{tid}|{Price(p).to_str()}|{Quantity(q).to_str()}|{side}"
            for _seq, tid, _ts, p, q, side in rows]


async def eventually(check: Callable[[], bool | Awaitable[bool]], within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while True:
            result = check()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


@dataclass
class Market:
    """The running service, its parts, and a client that calls it as the gateway would."""

    app: Any
    client: httpx.AsyncClient
    server: ReplayServer | None
    events: list[Envelope] = field(default_factory=list)

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime  # type: ignore[no-any-return]

    @property
    def svc(self) -> MarketDataService:
        return self.app.state.market  # type: ignore[no-any-return]

    @property
    def tracker(self) -> ContinuityTracker:
        return self.app.state.tracker  # type: ignore[no-any-return]

    @property
    def writer(self) -> SeriesWriter:
        return self.app.state.writer  # type: ignore[no-any-return]

    def headers(self, permissions: frozenset[str] = OPERATOR) -> dict[str, str]:
        return {h.IDENTITY: self.runtime.auth.mint(Principal("operator:test", permissions))}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.headers())

    async def recording_all(self, *keys: str) -> None:
        await eventually(lambda: all(k in self.svc.feeds.recorded for k in keys), 30)

    async def settle(self) -> None:
        """Everything received is stored and every gap recorded."""
        await self.writer.flush()
        await self.tracker.drain()
        await self.writer.flush()


def md_settings(server: ReplayServer | None, **overrides: Any) -> MarketDataSettings:
    base: dict[str, Any] = {
        "binance_mode": "replay" if server is not None else "off",
        "replay_url": server.rest_url if server is not None else None,
        "instruments": (SPOT, PERP), "config_wait_s": 0, "flush_interval_s": 0.1,
        "publish_interval_s": 0.05, "repair_delay_s": 0.2, "reconcile_every_s": 0,
        "book_snapshot_s": 3600,
    }
    return MarketDataSettings.model_validate({**base, **overrides})


@contextlib.asynccontextmanager
async def running(data_dir: Path, settings: MarketDataSettings,
                  server: ReplayServer | None) -> AsyncIterator[Market]:
    platform = PlatformSettings(data_dir=data_dir, bus_url="memory://")
    app = create_app(platform, settings=settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://md") as client:
            market = Market(app, client, server)

            async def collect(env: Envelope) -> None:
                market.events.append(env)

            await market.runtime.bus.subscribe("md.>", collect)
            yield market


MakeReplay = Callable[..., Awaitable[ReplayServer]]


@pytest.fixture
async def make_replay(shared_data: Path) -> AsyncIterator[MakeReplay]:
    servers: list[ReplayServer] = []

    async def make(files: list[str], seconds: float | None = None, **options: Any
                   ) -> ReplayServer:
        rec = recording(tuple(files))
        if seconds is not None:
            rec = rec.truncated(seconds)
        options.setdefault("start", "manual")
        server = await ReplayServer(rec, ReplaySettings(**options)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


MakeMarket = Callable[..., contextlib.AbstractAsyncContextManager[Market]]


@pytest.fixture
def make_market(tmp_path: Path) -> MakeMarket:
    def make(server: ReplayServer | None, **overrides: Any
             ) -> contextlib.AbstractAsyncContextManager[Market]:
        return running(tmp_path / "var", md_settings(server, **overrides), server)

    return make
