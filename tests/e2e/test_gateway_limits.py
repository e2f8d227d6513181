"""Issue #4, what a client meets when it asks too much or a service is down, against the
running gateway: token buckets per identity and per address (429 with Retry-After, set
live through the config service as an operator would during an incident), and a 503
naming a service that is not running.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.gateway._live import Live, User, live_platform, wait_until

pytestmark = pytest.mark.e2e

SETTINGS = "/api/v1/config/documents/gateway/settings"
#: One token per 100 s: nothing refills while a test runs, however slow the machine.
TIGHT = {"rate_identity_per_s": 0.01, "rate_identity_burst": 3,
         "rate_ip_per_s": 0.01, "rate_ip_burst": 5}


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


def _effective(live: Live) -> dict[str, Any]:
    r = live.proc.request("GET", "gateway", "/internal/runtime")
    assert r.status_code == 200, r.text
    settings: dict[str, Any] = r.json()["settings"]
    return settings


@pytest.fixture
def tight_limits(live: Live) -> Iterator[None]:
    """The gateway's live settings, tightened through the config service and pushed to
    the running gateway over the bus; put back (the document deleted) afterwards."""
    r = live.proc.request("PUT", "config", SETTINGS,
                          json={"content": TIGHT, "comment": "e2e: rate limits"})
    assert r.status_code in (200, 201), r.text
    try:
        wait_until(lambda: _effective(live)["rate_ip_burst"] == 5, timeout_s=15, step_s=0.2)
        yield
    finally:
        live.proc.request("DELETE", "config", SETTINGS)
        wait_until(lambda: _effective(live)["rate_ip_burst"] == 100, timeout_s=15,
                   step_s=0.2)


def _gets(live: Live, user: User, ip: str, n: int) -> list[httpx.Response]:
    """`n` requests as `user` from `ip`, 429s returned as they come (not waited out)."""
    with live.client(ip) as c:
        return [c.get("/api/v1/users/me", headers=user.auth) for _ in range(n)]


def _refused(r: httpx.Response, scope: str) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "rate_limited"
    assert r.json()["error"]["details"] == {"scope": scope}
    assert 90 <= int(r.headers["retry-after"]) <= 100  # one token at 0.01/s


def test_buckets_per_identity_and_per_address_answer_429_with_retry_after(
    live: Live, tight_limits: None,
) -> None:
    first = live.register("127.0.0.111")  # logged in before (their own addresses)
    second = live.register("127.0.0.112")
    ip = "127.0.0.113"  # a fresh address: its bucket holds 5
    got = _gets(live, first, ip, 4)
    assert [r.status_code for r in got] == [200, 200, 200, 429]
    _refused(got[-1], "identity")
    assert got[0].json()["id"] == first.user_id
    # another identity has its own bucket, but draws on the same address's: 1 left
    got = _gets(live, second, ip, 2)
    assert [r.status_code for r in got] == [200, 429]
    _refused(got[-1], "ip")
    # the first user from another address is still out of tokens: the bucket follows
    # the identity, not the connection
    _refused(_gets(live, first, "127.0.0.114", 1)[0], "identity")
    assert _gets(live, second, "127.0.0.114", 1)[0].status_code == 200


def test_a_service_that_is_not_running_is_a_503_naming_it(live: Live) -> None:
    """The risk service is not started on this platform: its routes answer 503 with the
    service's name, and after repeated failures its only instance is ejected."""
    user = live.register("127.0.0.115")
    assert "risk:read" in live.call("GET", "/api/v1/users/me", headers=user.auth
                                    ).json()["permissions"]
    causes = []
    for _ in range(5):
        r = live.call("GET", "/api/v1/risk/limits", headers=user.auth, ip=user.ip)
        assert r.status_code == 503, r.text
        error = r.json()["error"]
        assert error["code"] == "unavailable"
        assert error["message"].startswith("risk is unavailable"), error
        assert error["details"]["service"] == "risk"
        assert error["details"]["cause"] == "unreachable"
        causes.append(error["message"])
    assert causes[0] == "risk is unavailable: cannot connect (ClientConnectorError)"
    # after 3 failed connections (passive health) the instance is ejected: no connection
    # is tried any more until it is re-admitted
    assert causes[-1] == "risk is unavailable: no healthy instance", causes
    # the other services are not affected by risk's open circuit
    assert live.call("GET", "/api/v1/accounts", headers=user.auth).status_code == 200
