"""Issue #4, the front door's edges, against the running gateway: no client reaches a
service's `/internal` routes, however the path is spelled and whatever identity header
it forges, and an upstream's redirect never sends a client round the gateway."""

from __future__ import annotations

import http.client
import secrets

import pytest

from argosy.contracts import headers as h
from argosy.platform.auth.internal import InternalAuth, Principal
from tests.integration.gateway._live import Live, User, live_platform

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


def _raw(live: Live, method: str, target: str, headers: dict[str, str]) -> tuple[int, str]:
    """The request line exactly as written (httpx would normalise `..` away)."""
    port = int(live.gateway.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, target, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def test_internal_routes_of_the_services_are_never_routed(live: Live) -> None:
    user = live.register("127.0.0.81")
    forged = InternalAuth(secrets.token_bytes(32)).mint(
        Principal("service:trading", frozenset({"*"})))
    # even a real internal token (leaked from a service) does not open another service's
    # /internal routes through the gateway: they are not in its route table
    leaked = live.proc.token(frozenset({"*"}), subject="service:gateway")
    spelled = [
        "/internal/v1/api-keys/ak_0123456789", "/internal/v1/credentials/acc_0123456789",
        "/internal/v1/signing-keys/rotate", "/api/v1/users/../../internal/runtime",
        "/api/v1/users/%2e%2e/%2e%2e/internal/runtime", "/api/v1/users/..%2F..%2Finternal",
        "//internal/runtime", "/./internal/runtime", "/api/v1/auth/../../internal/runtime",
    ]
    for target in spelled:
        for method, identity in (("GET", forged), ("POST", forged), ("GET", leaked)):
            status, body = _raw(live, method, target,
                                {**user.auth, h.IDENTITY: identity, "x-forwarded-for": "::1"})
            assert status == 404, (method, target, body)
            assert '"code":"not_found"' in body
    # the gateway's own operations route wants a real internal identity, not a user's
    status, body = _raw(live, "GET", "/internal/runtime", {**user.auth, h.IDENTITY: forged})
    assert status == 401, body
    # while the users service answers its internal routes to a real internal caller
    assert live.proc.request("GET", "users", "/internal/runtime").status_code == 200


def test_an_upstream_redirect_stays_on_the_gateway(live: Live) -> None:
    user: User = live.register("127.0.0.82")
    with live.client("127.0.0.82") as c:
        r = c.get("/api/v1/accounts/", headers=user.auth)  # FastAPI: 307 to no slash
        assert r.status_code == 307
        assert r.headers["location"] == "/api/v1/accounts"  # not http://<users host>/...
        r = c.get("/api/v1/accounts/?kind=paper", headers=user.auth, follow_redirects=True)
        assert r.status_code == 200
        assert r.url.host == "127.0.0.1"
        assert r.url.port == int(live.gateway.rsplit(":", 1)[1])
