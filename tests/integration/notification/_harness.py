"""The notification service running in-process, and how tests talk to it: as a user the
gateway vouched for, by publishing platform events on its bus, and by reading its tables.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text

from argosy.contracts.v1.identity import BUILTIN_ROLES
from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from argosy.platform.runtime.service import ServiceRuntime
from argosy.platform.settings import PlatformSettings
from argosy.services.notification.settings import NotificationSettings

__all__ = ["NotifyHarness", "OffsetClock", "Person"]

_IDS = itertools.count()


class OffsetClock:
    """Wall-clock time a test can move forward (quiet hours, digests, dedupe windows)."""

    def __init__(self) -> None:
        self.offset_ns = 0

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns

    def advance(self, seconds: float) -> None:
        self.offset_ns += int(seconds * 1_000_000_000)


@dataclass(frozen=True)
class Person:
    id: str
    org: str
    permissions: frozenset[str]

    @property
    def principal(self) -> Principal:
        return Principal(f"user:{self.id}", self.permissions, self.org)


@dataclass
class NotifyHarness:
    runtime: ServiceRuntime
    client: httpx.AsyncClient
    settings: NotificationSettings
    clock: OffsetClock
    platform: PlatformSettings
    state: Any = None  # the app's `state` (dispatcher, price watch...)
    published: list[Envelope] = field(default_factory=list)

    # -- identities and calls ----------------------------------------------------------
    def user(self, role: str = "trader", org: str | None = None) -> Person:
        n = next(_IDS)
        return Person(f"usr_{n}{uuid.uuid4().hex[:10]}", org or f"org_{uuid.uuid4().hex[:10]}",
                        BUILTIN_ROLES[role])

    def headers(self, who: Person | Principal) -> dict[str, str]:
        principal = who.principal if isinstance(who, Person) else who
        return {"x-argosy-identity": self.runtime.auth.mint(principal)}

    async def call(self, method: str, url: str, who: Person | Principal | None, *,
                   json: Any = None, **kw: Any) -> httpx.Response:
        headers = self.headers(who) if who is not None else {}
        return await self.client.request(method, url, json=json, headers=headers, **kw)

    async def prefs(self, who: Person, **body: Any) -> dict[str, Any]:
        r = await self.call("PUT", "/api/v1/notifications/preferences", who, json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())

    # -- events ------------------------------------------------------------------------
    async def publish(self, topic: str, payload: dict[str, Any],
                      msg_id: str | None = None) -> str:
        return await self.runtime.bus.publish_json(topic, payload,
                                                   msg_id=msg_id or uuid.uuid4().hex)

    @staticmethod
    def fill(who: Person, **extra: Any) -> dict[str, Any]:
        return {"org": who.org, "user_id": who.id, "at_ms": int(time.time() * 1000),
                "account_id": "acc_1", "order_id": "ord_1", "fill_id": uuid.uuid4().hex[:8],
                "instrument": "BTC-USDT.binance", "side": "buy", "price": "67250.5",
                "quantity": "0.5", "fee": "0.0005", "fee_asset": "BTC", "liquidity": "taker",
                **extra}

    @staticmethod
    def risk(who: Person, severity: str = "critical", **extra: Any) -> dict[str, Any]:
        return {"org": who.org, "user_id": who.id, "at_ms": int(time.time() * 1000),
                "alert_id": uuid.uuid4().hex[:8], "severity": severity,
                "kind": "daily_loss_limit", "message": "Daily loss 5.2% over the 5% limit",
                "account_id": "acc_1", **extra}

    # -- inspection --------------------------------------------------------------------
    async def sql(self, query: str, **params: Any) -> list[Any]:
        assert self.runtime.db is not None
        async with self.runtime.db.engine.connect() as conn:
            result = await conn.execute(text(query), params)
            rows = list(result.all()) if result.returns_rows else []
            await conn.commit()
            return rows

    async def deliveries(self, who: Person, **filters: str) -> list[dict[str, Any]]:
        r = await self.call("GET", "/api/v1/notifications/deliveries", who, params=filters)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

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

    async def settled(self, who: Person, count: int, within_s: float = 10.0,
                      states: tuple[str, ...] = ("sent", "delivered", "dead"),
                      **filters: str) -> list[dict[str, Any]]:
        """Wait until `count` deliveries of `who` are in a final state; return them all."""
        found: list[dict[str, Any]] = []

        async def done() -> bool:
            nonlocal found
            found = await self.deliveries(who, **filters)
            return sum(d["state"] in states for d in found) >= count

        await self.wait_for(done, within_s)
        return found

    def runtime_app_state(self, name: str) -> Any:
        return getattr(self.state, name)

    def inapp(self, who: Person) -> list[dict[str, Any]]:
        return [e.json() for e in self.published if e.topic == f"notification.inapp.{who.id}"]
