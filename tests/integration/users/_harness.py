"""What the users-service tests share: a harness around the running app that registers and
logs in users, and calls routes as them the way the gateway would (an internal identity
token built from the access token's claims)."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from sqlalchemy import text

from argosy.platform.auth.internal import Principal
from argosy.platform.bus.base import Envelope
from argosy.platform.runtime.service import ServiceRuntime
from argosy.services.users.auditlog import AuditLog
from argosy.services.users.settings import UsersSettings

__all__ = ["PASSWORD", "OffsetClock", "User", "UsersHarness"]

PASSWORD = "correct horse battery staple"
_EMAILS = itertools.count()


class OffsetClock:
    """Wall-clock time that a test can move forward (lockout delays, grace windows)."""

    def __init__(self) -> None:
        self.offset_ns = 0

    def now_ns(self) -> int:
        return time.time_ns() + self.offset_ns

    def advance(self, seconds: float) -> None:
        self.offset_ns += int(seconds * 1_000_000_000)


@dataclass
class User:
    id: str
    org: str
    email: str
    password: str
    account_id: str | None
    access_token: str = ""
    refresh_token: str = ""

    @property
    def claims(self) -> dict[str, Any]:
        return dict(jwt.decode(self.access_token, options={"verify_signature": False}))


@dataclass
class UsersHarness:
    runtime: ServiceRuntime
    client: httpx.AsyncClient
    settings: UsersSettings
    clock: OffsetClock
    events: list[Envelope] = field(default_factory=list)

    # -- identities ------------------------------------------------------------------
    def as_(self, who: User | Principal | None, **extra: str) -> dict[str, str]:
        """Headers as the gateway would send them for `who`."""
        headers = dict(extra)
        if isinstance(who, User):
            claims = who.claims
            who = Principal(f"user:{claims['sub']}", frozenset(claims["perms"]), claims["org"],
                            claims["sid"])
        if who is not None:
            headers["x-argosy-identity"] = self.runtime.auth.mint(who)
        return headers

    async def register(self, email: str | None = None, password: str = PASSWORD,
                       login: bool = True, **extra: Any) -> User:
        email = email or f"user{next(_EMAILS)}-{time.time_ns()}@example.com"
        r = await self.client.post("/api/v1/auth/register",
                                   json={"email": email, "password": password, **extra})
        assert r.status_code == 201, r.text
        body = r.json()
        user = User(body["user_id"], body["org"], email, password, body["account_id"])
        if login:
            await self.login(user)
        return user

    async def invite(self, admin: User, roles: list[str] | None = None,
                     password: str = PASSWORD) -> User:
        """A member of `admin`'s organisation: invited, then registered with the token."""
        email = f"member{next(_EMAILS)}-{time.time_ns()}@example.com"
        body: dict[str, Any] = {"email": email, "name": "Member"}
        if roles is not None:
            body["roles"] = roles
        r = await self.call("POST", "/api/v1/admin/users", admin, json=body)
        assert r.status_code == 201, r.text
        event = await self.event("users.password.reset_requested", email=email)
        assert event["purpose"] == "invite"
        r = await self.client.post("/api/v1/auth/register", json={
            "email": email, "password": password, "invite_token": event["token"]})
        assert r.status_code == 201, r.text
        assert r.json()["org"] == admin.org
        user = User(r.json()["user_id"], admin.org, email, password, r.json()["account_id"])
        await self.login(user)
        return user

    async def login(self, user: User, *, ua: str = "pytest-agent", totp: str | None = None,
                    expect: int = 200) -> httpx.Response:
        body: dict[str, Any] = {"email": user.email, "password": user.password}
        if totp is not None:
            body["totp"] = totp
        r = await self.client.post("/api/v1/auth/login", json=body,
                                   headers={"user-agent": ua})
        assert r.status_code == expect, r.text
        if r.status_code == 200:
            user.access_token = r.json()["access_token"]
            user.refresh_token = r.json()["refresh_token"]
        return r

    async def call(self, method: str, url: str, who: User | Principal | None, *,
                   json: Any = None, **kw: Any) -> httpx.Response:
        headers = {**self.as_(who), **kw.pop("headers", {})}
        return await self.client.request(method, url, json=json, headers=headers, **kw)

    # -- inspection ------------------------------------------------------------------
    def runtime_audit(self) -> AuditLog:
        """The service's audit log reader, over its own database."""
        assert self.runtime.db is not None
        return AuditLog(self.runtime.db, self.clock)

    async def sql(self, query: str, **params: Any) -> list[Any]:
        assert self.runtime.db is not None
        async with self.runtime.db.engine.connect() as conn:
            result = await conn.execute(text(query), params)
            rows = list(result.all()) if result.returns_rows else []
            await conn.commit()
            return rows

    def published(self, topic: str) -> list[dict[str, Any]]:
        return [e.json() for e in self.events if e.topic == topic]

    async def wait_for(self, predicate: Callable[[], bool | Awaitable[bool]],
                       within_s: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while True:
            # Belt and braces: the relay wakes on every outbox commit; a nudge costs
            # nothing and keeps a slow machine from ever waiting for its 5 s idle poll.
            if self.runtime.relay is not None:
                self.runtime.relay.wake()
            result = predicate()
            if await result if inspect.isawaitable(result) else result:
                return
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {within_s}s")
            await asyncio.sleep(0.02)

    async def event(self, topic: str, within_s: float = 5.0, **match: Any) -> dict[str, Any]:
        """The first published event on `topic` whose payload has `match`."""

        def find() -> dict[str, Any] | None:
            for body in self.published(topic):
                if all(body.get(k) == v for k, v in match.items()):
                    return body
            return None

        await self.wait_for(lambda: find() is not None, within_s)
        found = find()
        assert found is not None
        return found
