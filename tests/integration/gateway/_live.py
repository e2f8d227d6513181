"""Issue #4 end to end: one running platform (config, users, gateway, trading and the
embedded NATS, started by `argosy run`) shared by every `tests/e2e/test_identity_*` and
`test_gateway_*` module, and what those tests need to drive it as clients do.

Why here and not in tests/e2e/conftest.py: that file belongs to the platform's own tests;
this module is imported by the identity modules, and `live_platform()` starts the
processes once per session whichever module asks first.

Clients talk to the gateway only. Each test may bind its client to its own loopback
address (127.0.0.x), so the users service's per-address login throttle sees distinct
clients exactly as it would behind the gateway in production.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from argosy.contracts.v1.identity import sign_request
from argosy.platform.bus.base import Bus, Envelope
from argosy.platform.bus.factory import create_bus
from argosy.services.users.vault import Vault
from tests.support.platform import PlatformProcess

__all__ = ["PASSWORD", "ApiKey", "Bus", "BusTap", "Live", "User", "live_platform", "wait_until"]

PASSWORD = "correct horse battery staple"
SERVICES = ["config", "users", "gateway", "trading"]
#: Lockout thresholds low enough to reach in a test; Argon2 stays at its production values.
ENV = {
    "ARGOSY_USERS_LOGIN_FREE_FAILURES": "2",
    "ARGOSY_USERS_LOGIN_DELAY_BASE_S": "0.2",
    "ARGOSY_USERS_LOGIN_DELAY_MAX_S": "0.4",
    "ARGOSY_USERS_LOGIN_LOCK_FAILURES": "5",
    "ARGOSY_USERS_LOGIN_IP_LOCK_FAILURES": "12",
}
_T = TypeVar("_T")
_SHARED: dict[str, Live] = {}


def wait_until(predicate: Callable[[], _T], timeout_s: float = 5.0, step_s: float = 0.05) -> _T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(step_s)


class BusTap:
    """The platform's own NATS, from the test process: records every `users.>` event and
    publishes like a service would (the platform's NATS adapter, not a stand-in)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: list[Envelope] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.bus: Bus = self._run(self._connect())

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=30)

    async def _connect(self) -> Bus:
        bus = create_bus(self.url, source="e2e-test")
        await bus.connect()

        async def record(env: Envelope) -> None:
            self.seen.append(env)

        await bus.subscribe("users.>", record)
        return bus

    def publish_json(self, topic: str, payload: Any) -> None:
        self._run(self.bus.publish_json(topic, payload))

    def events(self, topic: str, **match: Any) -> list[dict[str, Any]]:
        out = []
        for env in list(self.seen):
            body = env.json()
            if env.topic == topic and all(body.get(k) == v for k, v in match.items()):
                out.append(body)
        return out

    def wait_event(self, topic: str, timeout_s: float = 10.0, **match: Any) -> dict[str, Any]:
        found = wait_until(lambda: self.events(topic, **match), timeout_s)
        return found[-1]

    def close(self) -> None:
        self._run(self.bus.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@dataclass
class User:
    email: str
    user_id: str
    org: str
    account_id: str | None
    ip: str
    access: str = ""
    refresh: str = ""
    password: str = PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.access}"}


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    secret: str

    def headers(self, method: str, path: str, query: str = "", body: bytes = b"", *,
                timestamp_ms: int | None = None, nonce: str | None = None) -> dict[str, str]:
        """A signed request as a program sends it (contracts/v1/identity.py)."""
        ts = time.time_ns() // 1_000_000 if timestamp_ms is None else timestamp_ms
        nonce = nonce or uuid.uuid4().hex
        return {"x-argosy-key": self.key_id, "x-argosy-timestamp": str(ts),
                "x-argosy-nonce": nonce,
                "x-argosy-signature": sign_request(self.secret, method, path, query, body, ts,
                                                   nonce)}


@dataclass
class Live:
    proc: PlatformProcess
    tap: BusTap

    @property
    def gateway(self) -> str:
        return self.proc.url("gateway")

    @property
    def data_dir(self) -> Path:
        return self.proc.data_dir

    # -- HTTP through the gateway ---------------------------------------------------------
    def client(self, ip: str = "127.0.0.1", **kw: Any) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=ip)
        return httpx.Client(base_url=self.gateway, transport=transport, timeout=15, **kw)

    def call(self, method: str, path: str, *, ip: str = "127.0.0.1",
             **kw: Any) -> httpx.Response:
        """One request through the gateway; the gateway's own 429s (shared per-IP and
        per-identity buckets) are waited out, every other answer is returned."""
        with self.client(ip) as c:
            for _ in range(20):
                r = c.request(method, path, **kw)
                if r.status_code != 429 or r.json()["error"]["code"] != "rate_limited":
                    return r
                time.sleep(float(r.headers.get("retry-after", "1")))
        raise AssertionError(f"{method} {path}: still rate limited")

    def register(self, ip: str = "127.0.0.1", *, login: bool = True, **body: Any) -> User:
        email = body.pop("email", None) or f"u-{uuid.uuid4().hex[:12]}@example.com"
        r = self.call("POST", "/api/v1/auth/register", ip=ip,
                      json={"email": email, "password": PASSWORD, **body})
        assert r.status_code == 201, r.text
        out = r.json()
        user = User(email, out["user_id"], out["org"], out.get("account_id"), ip)
        if login:
            self.login(user)
        return user

    def login(self, user: User, **extra: Any) -> httpx.Response:
        r = self.call("POST", "/api/v1/auth/login", ip=user.ip,
                      json={"email": user.email, "password": user.password, **extra})
        if r.status_code == 200:
            user.access, user.refresh = r.json()["access_token"], r.json()["refresh_token"]
        return r

    def invite(self, admin: User, role: str, ip: str = "127.0.0.1") -> User:
        """A member of `admin`'s organisation with `role`, through the real invitation:
        the token travels on the bus (users.password.reset_requested) as it would to the
        notification service's mail."""
        email = f"{role}-{uuid.uuid4().hex[:10]}@example.com"
        r = self.call("POST", "/api/v1/admin/users", headers=admin.auth,
                      json={"email": email, "roles": [role]})
        assert r.status_code == 201, r.text
        event = self.tap.wait_event("users.password.reset_requested", email=email)
        assert event["purpose"] == "invite"
        r = self.call("POST", "/api/v1/auth/register", ip=ip, json={
            "email": email, "password": PASSWORD, "invite_token": event["token"]})
        assert r.status_code == 201, r.text
        member = User(email, r.json()["user_id"], r.json()["org"], r.json()["account_id"], ip)
        assert self.login(member).status_code == 200
        return member

    def api_key(self, user: User, scopes: list[str], **extra: Any) -> ApiKey:
        r = self.call("POST", "/api/v1/api-keys", headers=user.auth,
                      json={"name": f"key-{uuid.uuid4().hex[:6]}", "scopes": scopes, **extra})
        assert r.status_code == 201, r.text
        return ApiKey(r.json()["key_id"], r.json()["secret"])

    # -- the data dir, as an operator on the machine sees it -------------------------------
    def users_db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "db" / "users.sqlite3", timeout=10)

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The users service's current token key (kid, private key), opened with the
        vault key in the data dir: forged tokens then fail only for what they forge."""
        with self.users_db() as db:
            kid, sealed = db.execute(
                "SELECT kid, private_sealed FROM signing_keys WHERE retired_ns IS NULL "
                "ORDER BY created_ns DESC LIMIT 1").fetchone()
        vault = Vault(self.data_dir / "secrets" / "users-vault.key")
        return kid, Ed25519PrivateKey.from_private_bytes(vault.open(sealed, f"signing_key:{kid}"))

    def logs(self) -> dict[str, str]:
        return {p.name: p.read_text(errors="replace")
                for p in sorted((self.data_dir / "logs").glob("*.log"))}


def _nats_url(proc: PlatformProcess) -> str:
    log = (proc.data_dir / "logs" / "nats.log").read_text()
    match = re.search(r"Listening for client connections on (127\.0\.0\.1:\d+)", log)
    assert match, log[-2000:]
    return f"nats://{match.group(1)}"


def live_platform(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Live:
    """The shared platform, started by whichever module's fixture asks first."""
    if "live" not in _SHARED:
        proc = PlatformProcess(tmp_path_factory.mktemp("identity") / "var",
                               services=SERVICES, env=ENV).start()

        def stop() -> None:
            proc.stop()

        request.config.add_cleanup(stop)
        proc.wait_ready()
        tap = BusTap(_nats_url(proc))
        request.config.add_cleanup(tap.close)
        _SHARED["live"] = Live(proc, tap)
    return _SHARED["live"]
