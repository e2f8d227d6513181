"""The gateway in-process (httpx ASGITransport + its lifespan) in front of real servers.

Session-wide: a users stand-in (JWKS, API-key grants, accounts), two trading instances,
one market-data instance, and the real config service, each a uvicorn server on a free
port sharing one internal secret. Per test: a fresh gateway app with its own data dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI

from argosy.contracts import headers as h
from argosy.platform.auth.internal import InternalAuth, Principal
from argosy.platform.settings import PlatformSettings
from argosy.services.config.app import create_app as create_config_app
from argosy.services.gateway.app import GatewayParts, create_app
from argosy.services.gateway.settings import GatewaySettings
from argosy.services.gateway.upstreams import Upstreams
from tests.integration.gateway._upstreams import (
    EchoState,
    ServerThread,
    UsersState,
    echo_app,
    users_app,
)
from tests.support.servers import REDIS_URL, reachable
from tests.unit.services.gateway._forge import SigningKey

OPERATOR = Principal("operator:test", frozenset({"config:*", "ops:read"}))


@dataclass
class Stack:
    secret_file: Path
    auth: InternalAuth
    key: SigningKey
    users: UsersState
    servers: dict[str, list[ServerThread]]
    trading: list[EchoState]
    config_url: str

    def urls(self, **override: str) -> dict[str, str]:
        urls = {name: group[0].url for name, group in self.servers.items()}
        urls["config"] = self.config_url
        return {**urls, **override}

    def trading_urls(self) -> list[str]:
        return [s.url for s in self.servers["trading"]]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("gateway-stack")
    secret_file = root / "internal.key"
    secret_file.write_text(secrets.token_hex(32))
    auth = InternalAuth(bytes.fromhex(secret_file.read_text()))
    key = SigningKey()
    users = UsersState(keys=[key])
    trading = [EchoState("trading-1"), EchoState("trading-2")]
    servers = {
        "users": [ServerThread(users_app(users, auth), "users")],
        "trading": [ServerThread(echo_app("trading", s, auth), s.instance) for s in trading],
        "market-data": [ServerThread(echo_app("market-data", EchoState("md-1"), auth), "md")],
    }
    config = ServerThread(create_config_app(PlatformSettings(
        data_dir=root / "config", bus_url="memory://", internal_secret_file=secret_file,
    )), "config")
    started = [s.start() for group in servers.values() for s in group] + [config.start()]
    yield Stack(secret_file, auth, key, users, servers, trading, config.url)
    for server in started:
        server.stop()


@dataclass
class Harness:
    app: FastAPI
    parts: GatewayParts
    client: httpx.AsyncClient
    stack: Stack
    written: set[str] = field(default_factory=set)

    @property
    def upstreams(self) -> Upstreams:
        return self.parts.upstreams

    def bearer(self, **claims: Any) -> dict[str, str]:
        return {"authorization": f"Bearer {self.stack.key.token(**claims)}"}

    def operator(self) -> dict[str, str]:
        return {h.IDENTITY: self.stack.auth.mint(OPERATOR)}

    async def configure(self, namespace: str, content: dict[str, Any] | None) -> None:
        """Write (or delete, None) a gateway document in the real config service, then
        let the gateway re-sync, as its periodic resync would."""
        live = self.parts.runtime.live
        for _ in range(500):
            if live.status()["registered"]:
                break
            await asyncio.sleep(0.01)
        url = f"{self.stack.config_url}/api/v1/config/documents/gateway/{namespace}"
        async with httpx.AsyncClient(headers=self.operator(), timeout=10) as http:
            if content is None:
                r = await http.delete(url)
                assert r.status_code in (204, 404), r.text
            else:
                self.written.add(namespace)
                r = await http.put(url, json={"content": content, "comment": "test"})
                assert r.status_code in (200, 201), r.text
        await live.sync()

    async def forget_documents(self) -> None:
        for namespace in sorted(self.written):
            await self.configure(namespace, None)
        self.written.clear()


GatewayFactory = Callable[..., contextlib.AbstractAsyncContextManager[Harness]]


@pytest.fixture
def make_gateway(stack: Stack, tmp_path: Path) -> GatewayFactory:
    """Start a gateway (several may share a data dir, hence one cache namespace)."""

    @contextlib.asynccontextmanager
    async def make(data_dir: Path | None = None, cache_url: str = "memory://",
                   urls: dict[str, str] | None = None, **settings: Any) -> AsyncIterator[Harness]:
        platform = PlatformSettings(
            data_dir=data_dir or tmp_path / f"gw-{uuid.uuid4().hex[:6]}", bus_url="memory://",
            cache_url=cache_url, internal_secret_file=stack.secret_file,
            service_urls=urls or stack.urls(),
        )
        defaults: dict[str, Any] = {"health_interval_s": 0.2, "ws_ping_interval_s": 30,
                                    "upstreams": {"trading": stack.trading_urls()}}
        app = create_app(platform, GatewaySettings(**{**defaults, **settings}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
                harness = Harness(app, app.state.gateway, c, stack)
                try:
                    yield harness
                finally:
                    await harness.forget_documents()

    return make


@pytest.fixture
async def gw(make_gateway: GatewayFactory) -> AsyncIterator[Harness]:
    async with make_gateway() as harness:
        yield harness


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis (pair with `redis_cleanup` to delete the keys written)."""
    if not reachable("127.0.0.1", 6379):
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
async def redis_cleanup() -> AsyncIterator[Callable[[str], None]]:
    namespaces: list[str] = []
    yield namespaces.append
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        for space in namespaces:
            keys = [k async for k in client.scan_iter(match=space + "*")]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()
