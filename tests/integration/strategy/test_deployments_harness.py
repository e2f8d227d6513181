"""The live stack in one process for the deployment tests (no tests here).

The real trading service (in-process, SQLite, its real paper venue and pre-trade risk) and
the real strategy service, talking over HTTP (ASGI) and the real NATS server, in a NATS
namespace of their own so parallel runs never see each other's messages. A replay plays
the market-data service: it publishes recorded Binance trades on `md.trade.*` and the 1 s
bars built from them on `md.bar.1s.*`, waiting for the consumers where a race would make
the outcome depend on scheduling (see `replay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from argosy.contracts.topics import market, market_bar
from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.contracts.v1.market_data import trades_payload
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval, TradeTick, to_dict
from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from argosy.platform.bus.nats import NatsBus
from argosy.platform.runtime import service as runtime_service
from argosy.platform.settings import PlatformSettings
from argosy.services.strategy.app import create_app as strategy_app
from argosy.services.strategy.backtest.data import Catalog, read_trades
from argosy.services.strategy.domain.bars import BarBuilder
from argosy.services.strategy.live.instruments import InstrumentRows
from argosy.services.strategy.live.runner import DeploymentRunner
from argosy.services.strategy.settings import StrategySettings
from argosy.services.trading.app import create_app as trading_app
from tests.integration.trading._harness import fast_settings
from tests.integration.trading._market import SPOT, instrument_rows
from tests.support.servers import NATS_URL, SHARED_DATA, reachable

__all__ = ["PLUGINS", "LiveStack", "instrument_rows_async", "live_stack", "recorded_trades",
           "replay", "restarted_strategy"]

PLUGINS = '''
from decimal import Decimal

from argosy.services.strategy.domain.indicators import SMA
from argosy.services.strategy.domain.params import Param
from argosy.services.strategy.domain.strategy import Strategy


class Stepper(Strategy):
    """Buys 0.001 on its 3rd bar, sells it on its 6th; a signal per bar."""

    def on_start(self):
        self.n = 0

    def on_bar(self, bar):
        self.n += 1
        self.signal("close", float(bar.close.value))
        if self.n == 3:
            self.buy(bar.instrument_id, Decimal("0.001"))
        elif self.n == 6:
            self.close_position(bar.instrument_id)


class Faulty(Strategy):
    """Raises on its 4th bar."""

    def on_start(self):
        self.n = 0

    def on_bar(self, bar):
        self.n += 1
        if self.n == 4:
            raise RuntimeError("faulty strategy on bar 4")


class FixedCross(Strategy):
    """SMA(fast)/SMA(slow) crossover trading a fixed 0.002 (long only, market orders)."""

    fast = Param(5, low=1, high=100)
    slow = Param(20, low=2, high=500)

    def on_start(self):
        self.f, self.s, self.prev = SMA(self.fast), SMA(self.slow), None

    def on_bar(self, bar):
        x = float(bar.close.value)
        f, s = self.f.update(x), self.s.update(x)
        if f is None or s is None:
            return
        above = f > s
        if self.prev is not None and above != self.prev:
            held = self.position(bar.instrument_id)
            if above and held <= 0:
                self.buy(bar.instrument_id, Decimal("0.002"))
            elif not above and held > 0:
                self.sell(bar.instrument_id, held)
        self.prev = above
'''


@dataclass
class LiveStack:
    trading: Any  # the trading FastAPI app
    strategy: Any  # the strategy FastAPI app
    client: httpx.AsyncClient  # to the strategy service
    trading_client: httpx.AsyncClient
    feed: NatsBus  # the test's own connection: the market-data stand-in
    platform: PlatformSettings
    traded: list[int] = field(default_factory=lambda: [0])  # trades the trading service saw

    def headers(self, user_id: str, org: str) -> dict[str, str]:
        principal = Principal(f"user:{user_id}", BUILTIN_ROLES["trader"], org)
        return {"x-argosy-identity": self.strategy.state.runtime.auth.mint(principal)}

    async def person(self, balance: str = "100000") -> tuple[str, str, str]:
        user, org = f"usr_{uuid.uuid4().hex[:10]}", f"org_{uuid.uuid4().hex[:8]}"
        account = f"acc_{uuid.uuid4().hex[:12]}"
        await self.trading.state.intake.open(account_id=account, org=org, user_id=user,
                                             kind="paper", venue=None, currency="USDT",
                                             starting_balance=balance)
        # Open the account's paper venue now with a far limit order: a paper venue opened
        # later would not know the trades replayed before it (no price for a market order)
        who = {"x-argosy-identity": self.headers(user, org)["x-argosy-identity"]}
        r = await self.trading_client.post("/api/v1/orders", headers=who, json={
            "account_id": account, "instrument": SPOT, "side": "buy", "type": "limit",
            "quantity": "0.001", "price": "10000"})
        assert r.status_code == 201, r.text
        r = await self.trading_client.delete(f"/api/v1/orders/{r.json()['id']}", headers=who)
        assert r.status_code == 200, r.text
        return user, org, account

    def runner(self, deployment_id: str) -> DeploymentRunner:
        found: DeploymentRunner = self.strategy.state.deployments.runners[deployment_id]
        return found


async def _instrument_rows() -> list[Any]:
    return list(instrument_rows())


instrument_rows_async = _instrument_rows


def _at_least(count: Callable[[], int], n: int) -> Callable[[], bool]:
    return lambda: count() >= n


async def wait_for(predicate: Callable[[], bool], within_s: float = 15.0) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def _strategy(platform: PlatformSettings, plugins: Path, trading: Any,
                    instruments: InstrumentRows | None = None) -> AsyncIterator[Any]:
    app = strategy_app(platform, StrategySettings(data_dir=SHARED_DATA, strategies_dir=plugins,
                                                  watch_strategies=False),
                       trading_transport=httpx.ASGITransport(app=trading),
                       instruments=instruments or _instrument_rows)
    async with app.router.lifespan_context(app):
        await app.state.runtime.deps.ready("db", "bus")
        yield app


@contextlib.asynccontextmanager
async def live_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                     ) -> AsyncIterator[LiveStack]:
    if not reachable("127.0.0.1", 4222):
        pytest.skip("NATS is not reachable at 127.0.0.1:4222")
    namespace = f"dep{uuid.uuid4().hex[:10]}"

    def bus(url: str, *, source: str = "", metrics: Any = None) -> NatsBus:
        return NatsBus(NATS_URL, source=source, metrics=metrics, namespace=namespace)

    monkeypatch.setattr(runtime_service, "create_bus", bus)
    plugins = tmp_path / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "live_plugins.py").write_text(PLUGINS)
    platform = PlatformSettings(data_dir=tmp_path / "var", bus_url=NATS_URL)
    # books=None: the paper venue matches on the replayed trades alone, as the backtester
    # does in trade mode (a book fetched over HTTP would be another data set)
    trading = trading_app(platform, settings=fast_settings(), instruments=_instrument_rows,
                          books=None, exchanges={})
    feed = bus(NATS_URL, source="market-data")
    try:
        async with trading.router.lifespan_context(trading):
            await trading.state.runtime.deps.ready("db", "bus")
            await asyncio.wait_for(trading.state.consuming.wait(), 10)
            await asyncio.wait_for(trading.state.recovered.wait(), 10)
            traded = [0]
            original = trading.state.feed.trade

            def counting(trade: TradeTick) -> None:
                original(trade)
                traded[0] += 1

            trading.state.feed.trade = counting
            await feed.connect()
            async with _strategy(platform, plugins, trading) as app:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport,
                                             base_url="http://strategy") as client, \
                        httpx.AsyncClient(transport=httpx.ASGITransport(app=trading),
                                          base_url="http://trading") as tclient:
                    yield LiveStack(trading, app, client, tclient, feed, platform, traded)
    finally:
        with contextlib.suppress(Exception):
            await feed.delete_namespace()
        await feed.close()


@contextlib.asynccontextmanager
async def restarted_strategy(stack: LiveStack, plugins: Path,
                             instruments: InstrumentRows | None = None) -> AsyncIterator[Any]:
    async with _strategy(stack.platform, plugins, stack.trading, instruments) as app:
        yield app


def recorded_trades(limit: int) -> list[TradeTick]:
    """The first `limit` recorded Binance spot BTCUSDT trades (2024-08-08, hftbacktest)."""
    dataset = Catalog(SHARED_DATA).find(InstrumentId.parse(SPOT), "trade", None)
    out: list[TradeTick] = []
    for trade in read_trades(dataset, InstrumentId.parse(SPOT)):
        out.append(trade)
        if len(out) == limit:
            break
    return out


async def replay(stack: LiveStack, runner: DeploymentRunner, trades: list[TradeTick],
                 interval: Interval = Interval.S1) -> int:
    """Publish the trades, and each 1 s bar when the trade that closes it arrives (as the
    market-data service's aggregator does). Returns the number of bars.

    Ordering the backtester guarantees by construction, made explicit here: a bar goes out
    only after the trading service has applied every earlier trade; the next trade only
    after the deployment has handled the bar and its orders are at the paper venue; and
    while an order is open, nothing more until its fills reached the deployment."""
    iid = trades[0].instrument_id
    builder = BarBuilder(iid, interval)
    bar_topic, trade_topic = market_bar(interval.value, str(iid)), market("trade", str(iid))
    sent = bars = 0
    pending: list[dict[str, Any]] = []
    base = stack.traded[0]

    async def flush() -> None:
        nonlocal sent
        if pending:
            await stack.feed.publish_json(trade_topic, trades_payload(str(iid), pending))
            sent += len(pending)
            pending.clear()

    for trade in trades:
        bar = builder.update(trade)
        if bar is not None:
            await flush()
            await wait_for(_at_least(lambda: stack.traded[0] - base, sent))
            bars += 1
            await stack.feed.publish_json(bar_topic, to_dict(bar))
            await wait_for(_at_least(lambda: runner.bars_seen, bars))
            await runner.settled()
            pending.append(to_dict(trade))
            await flush()
            if runner.ctx.open_orders:
                await wait_for(_at_least(lambda: stack.traded[0] - base, sent))
                await wait_for(runner.caught_up)
            continue
        pending.append(to_dict(trade))
        if len(pending) >= 500:
            await flush()
    await flush()
    await wait_for(_at_least(lambda: stack.traded[0] - base, sent))
    await wait_for(runner.caught_up)
    return bars


async def collect(bus: NatsBus, pattern: str) -> tuple[list[Envelope], Any]:
    seen: list[Envelope] = []

    async def on(env: Envelope) -> None:
        seen.append(env)

    return seen, await bus.subscribe(pattern, on)
