"""Issue #4, signed API-key requests, against the running platform through the gateway:
the signature, the ±5 s window, the nonce, the IP allow-list, the key's scopes, and a
revocation reaching the gateway over the platform's NATS."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.integration.gateway._live import ApiKey, Live, User, live_platform, wait_until

pytestmark = pytest.mark.e2e

ACCOUNTS = "/api/v1/accounts"


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


@pytest.fixture(scope="module")
def owner(live: Live) -> User:
    return live.register("127.0.0.51")


def _get(live: Live, key: ApiKey, path: str = ACCOUNTS, *, ip: str = "127.0.0.51",
         **signing: Any) -> tuple[dict[str, str], httpx.Response]:
    headers = key.headers("GET", path, **signing)
    return headers, live.call("GET", path, ip=ip, headers=headers)


def test_a_signed_request_is_accepted_and_a_replay_is_not(live: Live, owner: User) -> None:
    key = live.api_key(owner, ["accounts:read", "accounts:write"])
    headers, r = _get(live, key)
    assert r.status_code == 200, r.text
    assert [a["id"] for a in r.json()["items"]] == [owner.account_id]
    replay = live.call("GET", ACCOUNTS, ip="127.0.0.51", headers=headers)
    assert replay.status_code == 401
    assert replay.json()["error"]["message"] == "nonce already used (replayed request)"
    # the body is covered: a signed POST works, the same signature over another body not
    body = json.dumps({"name": "Bot", "kind": "paper"}).encode()
    signed = key.headers("POST", ACCOUNTS, "", body)
    r = live.call("POST", ACCOUNTS, ip="127.0.0.51", content=body,
                  headers={**signed, "content-type": "application/json"})
    assert r.status_code == 201, r.text
    other = json.dumps({"name": "Evil", "kind": "paper"}).encode()
    signed = key.headers("POST", ACCOUNTS, "", body)
    r = live.call("POST", ACCOUNTS, ip="127.0.0.51", content=other,
                  headers={**signed, "content-type": "application/json"})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "signature does not match the request"


@pytest.mark.parametrize("skew_ms", [-6_000, 6_000, -60_000])
def test_a_request_signed_outside_the_window_is_401(live: Live, owner: User,
                                                   skew_ms: int) -> None:
    key = live.api_key(owner, ["accounts:read"])
    _, r = _get(live, key, timestamp_ms=time.time_ns() // 1_000_000 + skew_ms)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "signature timestamp outside the ±5 s window"
    _, inside = _get(live, key, timestamp_ms=time.time_ns() // 1_000_000 - 3_000)
    assert inside.status_code == 200


def test_a_key_is_held_to_its_scopes_and_its_addresses(live: Live, owner: User) -> None:
    key = live.api_key(owner, ["accounts:read"], allowed_ips=["127.0.0.51/32"])
    _, r = _get(live, key)
    assert r.status_code == 200
    _, r = _get(live, key, ip="127.0.0.52")
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "API key not allowed from this address"
    body = json.dumps({"name": "x", "kind": "paper"}).encode()
    r2 = live.call("POST", ACCOUNTS, ip="127.0.0.51", content=body, headers={
        **key.headers("POST", ACCOUNTS, "", body), "content-type": "application/json"})
    assert r2.status_code == 403  # accounts:write is not among its scopes
    assert r2.json()["error"]["message"] == "accounts:write required"


def test_a_revoked_key_stops_working_within_moments(live: Live, owner: User) -> None:
    """The gateway keeps grants for 30 s; the revocation event drops it at once."""
    key = live.api_key(owner, ["accounts:read"])
    for _ in range(2):  # cached in the gateway now
        _, r = _get(live, key)
        assert r.status_code == 200
    started = time.monotonic()
    r = live.call("DELETE", f"/api/v1/api-keys/{key.key_id}", headers=owner.auth)
    assert r.status_code == 204
    event = live.tap.wait_event("users.api_key.revoked", key_id=key.key_id, timeout_s=5)
    assert event["reason"] == "owner_revoked"

    def refused() -> bool:
        _, answer = _get(live, key)
        return answer.status_code == 401

    wait_until(refused, timeout_s=5, step_s=0.1)
    assert time.monotonic() - started < 5  # not after the 30 s grant cache
    _, r = _get(live, key)
    assert r.json()["error"]["message"] == "unknown API key"
    assert live.call("GET", f"/api/v1/api-keys/{key.key_id}", headers=owner.auth
                     ).json()["status"] == "revoked"
