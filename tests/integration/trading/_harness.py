"""The trading service in-process and how tests drive it: as users the gateway vouched
for, and by reading its tables."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from argosy.platform.settings import PlatformSettings
from argosy.services.trading.app import create_app
from argosy.services.trading.settings import TradingSettings
from argosy.services.trading.venues import Credentials, ExchangeFactory, PaperFactory
from tests.integration.trading._market import book_of, instrument_rows

__all__ = ["Person", "TradingHarness", "running"]

_IDS = itertools.count()


@dataclass(frozen=True)
class Person:
    id: str
    org: str
    account: str

    @property
    def principal(self) -> Principal:
        return Principal(f"user:{self.id}", BUILTIN_ROLES["trader"], self.org)


@dataclass
class TradingHarness:
    app: Any
    client: httpx.AsyncClient
    published: list[Envelope] = field(default_factory=list)

    @property
    def state(self) -> Any:
        return self.app.state

    async def person(self, balance: str = "10000", kind: str = "paper",
                     org: str | None = None) -> Person:
        n = next(_IDS)
        who = Person(f"usr_{n}{uuid.uuid4().hex[:8]}", org or f"org_{uuid.uuid4().hex[:8]}",
                     f"acc_{n}{uuid.uuid4().hex[:8]}")
        await self.state.intake.open(account_id=who.account, org=who.org, user_id=who.id,
                                     kind=kind, venue=None, currency="USDT",
                                     starting_balance=balance)
        return who

    def headers(self, who: Person) -> dict[str, str]:
        return {"x-argosy-identity": self.state.runtime.auth.mint(who.principal)}

    async def call(self, method: str, url: str, who: Person, **kw: Any) -> httpx.Response:
        return await self.client.request(method, url, headers=self.headers(who), **kw)

    async def order(self, who: Person, expect: int | None = 201, **body: Any) -> dict[str, Any]:
        r = await self.call("POST", "/api/v1/orders", who, json=body)
        if expect is not None:
            assert r.status_code == expect, r.text
        return dict(r.json())

    async def sql(self, query: str, **params: Any) -> list[Any]:
        async with self.state.runtime.db.engine.connect() as conn:
            result = await conn.execute(text(query), params)
            rows = list(result.all()) if result.returns_rows else []
            await conn.commit()
            return rows

    async def outbox_count(self) -> int:
        return int((await self.sql("SELECT count(*) FROM outbox"))[0][0])

    async def balances(self, who: Person) -> dict[str, Decimal]:
        r = await self.call("GET", "/api/v1/balances", who)
        assert r.status_code == 200, r.text
        return {b["asset"]: Decimal(b["total"]) for b in r.json()["items"]}

    async def wait_for(self, predicate: Callable[[], bool | Awaitable[bool]],
                       within_s: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while True:
            result = predicate()
            if await result if inspect.isawaitable(result) else result:
                return
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {within_s}s")
            await asyncio.sleep(0.02)


async def _instruments() -> list[Any]:
    return list(instrument_rows())


async def _books(instrument: str) -> dict[str, Any]:
    return book_of(instrument)


def fast_settings(**overrides: Any) -> TradingSettings:
    values: dict[str, Any] = {"reconcile_interval_s": 0.1, "not_found_misses": 3,
                              "not_found_window_s": 0.2, "send_timeout_s": 2.0,
                              "market_snapshot_poll_s": 0, "position_mark_interval_s": 0,
                              **overrides}
    return TradingSettings.model_validate(values)


@contextlib.asynccontextmanager
async def running(platform: PlatformSettings, settings: TradingSettings | None = None,
                  paper: PaperFactory | None = None, wait_recovered: bool = True,
                  exchanges: Mapping[str, ExchangeFactory] | None = None,
                  credentials: Callable[[str], Awaitable[Credentials]] | None = None,
                  ) -> AsyncIterator[TradingHarness]:
    app = create_app(platform, settings=settings or fast_settings(), paper=paper,
                     instruments=_instruments, books=_books, exchanges=exchanges or {},
                     credentials=credentials)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://trading") as client:
            h = TradingHarness(app, client)

            async def collect(env: Envelope) -> None:
                h.published.append(env)

            await app.state.runtime.deps.ready("db", "bus")
            await app.state.runtime.bus.subscribe("trading.>", collect)
            await asyncio.wait_for(app.state.consuming.wait(), 10)
            if wait_recovered:
                await asyncio.wait_for(app.state.recovered.wait(), 10)
            yield h
