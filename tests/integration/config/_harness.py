"""What the config tests share: schemas, principals, and a harness around the running app."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text

from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from argosy.platform.runtime.service import ServiceRuntime

__all__ = [
    "BASE",
    "LIMITS_SCHEMA",
    "OPERATOR",
    "READER",
    "RISK",
    "RISK_SCHEMAS",
    "SECRET",
    "TRADING",
    "ConfigHarness",
]

BASE = "/api/v1/config"
SECRET = {"type": "string", "x-argosy-secret": True}
LIMITS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limits": {
            "type": "object",
            "properties": {"max_qty": {"type": "number", "exclusiveMinimum": 0},
                           "symbols": {"type": "array", "items": {"type": "string"}}},
            "additionalProperties": False,
        },
        "venue": {
            "type": "object",
            "properties": {"api_key": {"type": "string"}, "api_secret": SECRET},
        },
        "webhooks": {"type": "object", "additionalProperties": SECRET},
    },
    "additionalProperties": False,
}
RISK_SCHEMAS: list[dict[str, Any]] = [
    {"namespace": "limits", "schema": LIMITS_SCHEMA, "description": "Risk limits"},
    {"namespace": "params/*", "schema": {"type": "object"}},
]

_SERVICE_PERMS = frozenset({"config:register", "config:read", "config:reveal"})
RISK = Principal("service:risk", _SERVICE_PERMS)
TRADING = Principal("service:trading", _SERVICE_PERMS)
OPERATOR = Principal("operator:alice", frozenset({"config:*"}))
READER = Principal("user:u1", frozenset({"config:read"}))


@dataclass
class ConfigHarness:
    """The running app, a client, and short ways to call it as someone."""

    runtime: ServiceRuntime
    client: httpx.AsyncClient
    events: list[Envelope] = field(default_factory=list)

    def as_(self, who: Principal | None, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if who is not None:
            headers["x-argosy-identity"] = self.runtime.auth.mint(who)
        return headers

    async def register(self, service: str = "risk", namespaces: list[dict[str, Any]] | None = None,
                       who: Principal = RISK) -> httpx.Response:
        body = {"namespaces": RISK_SCHEMAS if namespaces is None else namespaces}
        return await self.client.put(f"{BASE}/schemas/{service}", json=body, headers=self.as_(who))

    async def put(self, path: str, content: Any, who: Principal | None = OPERATOR,
                  headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
        return await self.client.put(f"{BASE}/documents/{path}", json={"content": content, **extra},
                                     headers={**self.as_(who), **(headers or {})})

    async def rollback(self, path: str, version: int, who: Principal | None = OPERATOR,
                       headers: dict[str, str] | None = None, **extra: Any) -> httpx.Response:
        return await self.client.post(f"{BASE}/documents/{path}/rollback",
                                      json={"version": version, **extra},
                                      headers={**self.as_(who), **(headers or {})})

    async def delete(self, path: str, who: Principal | None = OPERATOR,
                     headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.delete(f"{BASE}/documents/{path}",
                                        headers={**self.as_(who), **(headers or {})})

    async def get(self, url: str, who: Principal | None = OPERATOR,
                  **params: Any) -> httpx.Response:
        return await self.client.get(f"{BASE}{url}", params=params, headers=self.as_(who))

    async def history(self, path: str) -> list[dict[str, Any]]:
        r = await self.get(f"/documents/{path}/history")
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def audit(self, service: str = "risk") -> list[dict[str, Any]]:
        r = await self.get("/audit", service=service)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def sql(self, query: str) -> list[Any]:
        """Rows straight from the service's own database (its schema on PostgreSQL)."""
        assert self.runtime.db is not None
        async with self.runtime.db.engine.connect() as conn:
            return list((await conn.execute(text(query))).all())

    async def wait_for(
        self, predicate: Callable[[], bool | Awaitable[bool]], within_s: float = 5.0
    ) -> None:
        """Poll `predicate` (plain or async) until it holds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while not await _holds(predicate):
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {within_s}s")
            await asyncio.sleep(0.02)

    def changed_events(self, service: str = "risk") -> list[dict[str, Any]]:
        return [e.json() for e in self.events if e.topic == f"config.changed.{service}"]


async def _holds(predicate: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = predicate()
    return bool(await result) if inspect.isawaitable(result) else bool(result)
