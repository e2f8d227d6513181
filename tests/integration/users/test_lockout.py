"""Brute force: progressive delay, then lockout, per account and per address, in the shared
cache (Redis) so every instance enforces the same state."""

from __future__ import annotations

import httpx
import pytest

from argosy.platform.settings import PlatformSettings
from tests.integration.users._harness import User, UsersHarness
from tests.integration.users.conftest import running, users_settings
from tests.support.servers import REDIS_URL

pytestmark = pytest.mark.integration

LOGIN = "/api/v1/auth/login"
POLICY = {"login_free_failures": 2, "login_delay_base_s": 1.0, "login_delay_max_s": 4.0,
          "login_lock_failures": 6, "login_lock_s": 60.0, "login_ip_lock_failures": 30}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return POLICY


@pytest.fixture(params=["memory", "redis"])
def throttled(request: pytest.FixtureRequest) -> UsersHarness:
    name = "users_sqlite" if request.param == "memory" else "users_redis"
    harness: UsersHarness = request.getfixturevalue(name)
    return harness


async def attempt(h: UsersHarness, user: User, password: str | None = None,
                  ip: str = "203.0.113.7") -> httpx.Response:
    return await h.client.post(LOGIN, json={"email": user.email,
                                            "password": password or "wrong-" * 3},
                               headers={"x-forwarded-for": ip})


async def test_delays_grow_then_the_account_locks_then_unlocks(throttled: UsersHarness) -> None:
    h = throttled
    alice = await h.register(login=False)
    for _ in range(3):  # two free failures, the third sets a 1 s delay
        assert (await attempt(h, alice)).status_code == 401
    early = await attempt(h, alice)
    assert early.status_code == 429
    assert early.json()["error"]["code"] == "login_delayed"
    assert early.headers["retry-after"] == "1"
    h.clock.advance(1.01)
    assert (await attempt(h, alice)).status_code == 401  # 4th failure: 2 s delay
    assert (await attempt(h, alice, alice.password)).status_code == 429  # even the right one
    h.clock.advance(2.01)
    assert (await attempt(h, alice)).status_code == 401  # 5th: 4 s
    h.clock.advance(4.01)
    assert (await attempt(h, alice)).status_code == 401  # 6th: locked
    locked = await attempt(h, alice, alice.password)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"
    assert 55 <= int(locked.headers["retry-after"]) <= 60
    h.clock.advance(30)
    assert (await attempt(h, alice, alice.password)).status_code == 429
    h.clock.advance(31)
    assert (await attempt(h, alice, alice.password)).status_code == 200
    other_ip = "203.0.113.8"  # the first address has its own count (7 failures by now)
    assert (await attempt(h, alice, ip=other_ip)).status_code == 401  # the count restarted
    assert (await attempt(h, alice, ip=other_ip)).status_code == 401


async def test_success_clears_the_account_count(throttled: UsersHarness) -> None:
    h = throttled
    alice = await h.register(login=False)
    for _ in range(2):
        assert (await attempt(h, alice)).status_code == 401
    assert (await attempt(h, alice, alice.password)).status_code == 200
    for _ in range(2):
        assert (await attempt(h, alice)).status_code == 401
    assert (await attempt(h, alice)).status_code == 401  # would be 429 without the reset


async def test_one_address_spraying_many_accounts_is_slowed(throttled: UsersHarness) -> None:
    h = throttled
    victims = [await h.register(login=False) for _ in range(8)]
    for v in victims[:7]:  # 6 free failures for an address (3 x the account's)
        assert (await attempt(h, v, ip="198.51.100.9")).status_code == 401
    r = await attempt(h, victims[7], ip="198.51.100.9")
    assert r.status_code == 429
    assert r.json()["error"]["details"]["scope"] == "ip"
    assert (await attempt(h, victims[7], ip="198.51.100.10")).status_code == 401


async def test_instances_sharing_redis_share_the_lock(
    users_redis: UsersHarness, platform_settings: PlatformSettings,
) -> None:
    first = users_redis
    alice = await first.register(login=False)
    for _ in range(3):
        assert (await attempt(first, alice)).status_code == 401
    platform = PlatformSettings(data_dir=platform_settings.data_dir, bus_url="memory://",
                                cache_url=REDIS_URL)
    async with running(platform, users_settings(**POLICY), first.clock) as second:
        assert second.runtime.instance == first.runtime.instance
        r = await attempt(second, alice, alice.password)
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "login_delayed"
