"""Issue #4, access and refresh tokens, against the running platform through the gateway.

Forged access tokens are built against the real key set: the JWKS the gateway serves,
and (for tokens that must fail on a claim, not on their signature) the users service's
own private key, opened from the data dir. Each refusal is checked for its reason, so a
token that was meant to fail on `exp` cannot pass the test by failing on its signature.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.integration.gateway._live import Live, User, live_platform, wait_until
from tests.unit.services.gateway._forge import SigningKey, b64, compact, hs256_with_public_key

pytestmark = pytest.mark.e2e

ME = "/api/v1/users/me"


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


@pytest.fixture(scope="module")
def alice(live: Live) -> User:
    return live.register("127.0.0.21")


def _part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def _payload(token: str) -> dict[str, Any]:
    return _part(token, 1)


def _kid(token: str) -> str:
    return str(_part(token, 0)["kid"])


def _real_key(live: Live) -> SigningKey:
    kid, private = live.signing_key()
    jwks = live.call("GET", "/.well-known/jwks.json").json()
    assert kid in {k["kid"] for k in jwks["keys"]}  # the key the gateway verifies with
    return SigningKey(kid, private)


def _forgeries(live: Live, user: User) -> dict[str, tuple[str, str]]:
    """name → (token, the reason the gateway must give)."""
    real, stranger = _real_key(live), SigningKey()
    base = _payload(user.access)
    now = int(time.time())

    def claims(**over: Any) -> dict[str, Any]:
        return {**base, "jti": uuid.uuid4().hex, "iat": now, "nbf": now, "exp": now + 300, **over}

    head, _, signature = real.sign(claims()).split(".")
    promoted = b64(json.dumps(claims(perms=["*"], roles=["admin"], sub="usr_x")).encode())
    return {
        "alg_none": (compact({"alg": "none", "typ": "JWT", "kid": real.kid}, claims(), b""),
                     "token algorithm 'none' is not accepted"),
        "hs256_signed_with_the_public_key": (hs256_with_public_key(real),
                                             "token algorithm 'HS256' is not accepted"),
        "unknown_kid": (stranger.sign(claims()), "token signed by an unknown key"),
        "wrong_key_real_kid": (stranger.sign(claims(), kid=real.kid),
                               "token signature does not verify"),
        "expired": (real.sign(claims(iat=now - 900, nbf=now - 900, exp=now - 600)),
                    "token expired"),
        "future_nbf": (real.sign(claims(nbf=now + 600)), "token not valid yet"),
        "wrong_aud": (real.sign(claims(aud="another-api")), "token audience is not accepted"),
        "wrong_iss": (real.sign(claims(iss="https://evil.example")),
                      "token issuer is not accepted"),
        "tampered_payload": (f"{head}.{promoted}.{signature}", "token signature does not verify"),
        "refresh_typ_signed_with_the_real_key": (real.sign(claims(typ="refresh")),
                                                 "not an access token"),
        "the_real_refresh_token": (user.refresh, "malformed token: not a compact JWS"),
    }


FORGERIES = ["alg_none", "hs256_signed_with_the_public_key", "unknown_kid",
             "wrong_key_real_kid", "expired", "future_nbf", "wrong_aud", "wrong_iss",
             "tampered_payload", "refresh_typ_signed_with_the_real_key",
             "the_real_refresh_token"]


def test_a_token_signed_with_the_real_key_is_accepted(live: Live, alice: User) -> None:
    """The control for the forgeries below: the forging key really is the platform's."""
    key = _real_key(live)
    now = int(time.time())
    token = key.sign({**_payload(alice.access), "jti": uuid.uuid4().hex, "iat": now,
                      "nbf": now, "exp": now + 120})
    r = live.call("GET", ME, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == alice.user_id


@pytest.mark.parametrize("attack", FORGERIES)
def test_every_forged_access_token_is_401(live: Live, alice: User, attack: str) -> None:
    token, reason = _forgeries(live, alice)[attack]
    for method, path in (("GET", ME), ("POST", "/api/v1/accounts")):
        r = live.call(method, path, headers={"authorization": f"Bearer {token}"},
                      json={"name": "x", "kind": "paper"} if method == "POST" else None)
        assert r.status_code == 401, (attack, r.text)
        assert r.json()["error"]["message"] == reason
        assert f'error_description="{reason}"' in r.headers["www-authenticate"]
    assert live.call("GET", ME, headers=alice.auth).status_code == 200


def test_a_rotated_signing_key_is_fetched_on_its_first_token(live: Live) -> None:
    """Key rotation logs nobody out: old tokens still verify, and the first token signed
    with the new key makes the gateway refetch the JWKS (unknown kid)."""
    user = live.register("127.0.0.22")
    old_kid = _kid(user.access)
    # a random kid right before: the gateway refetches now, and not again for a moment
    stranger = SigningKey().sign(_payload(user.access))
    assert live.call("GET", ME, headers={"authorization": f"Bearer {stranger}"}
                     ).status_code == 401
    rotate = live.proc.request("POST", "users", "/internal/v1/signing-keys/rotate",
                               headers={"x-argosy-identity": live.proc.token(
                                   frozenset({"users:keys"}))})
    assert rotate.status_code == 200, rotate.text
    assert live.call("GET", ME, headers=user.auth).status_code == 200  # old kid still valid
    fresh = User(user.email, user.user_id, user.org, None, user.ip)
    assert live.login(fresh).status_code == 200
    new_kid = _kid(fresh.access)
    assert new_kid != old_kid
    started = time.monotonic()
    wait_until(lambda: live.call("GET", ME, headers=fresh.auth).status_code == 200,
               timeout_s=15, step_s=0.2)
    # within one refetch period (jwks_min_refresh_s, 1 s), though the stranger used it up
    assert time.monotonic() - started < 2.5


def _refresh(live: Live, token: str) -> httpx.Response:
    return live.call("POST", "/api/v1/auth/refresh", json={"refresh_token": token})


def test_refresh_token_reuse_revokes_the_whole_family(live: Live) -> None:
    user = live.register("127.0.0.23")
    rt0 = user.refresh
    first = _refresh(live, rt0)
    assert first.status_code == 200, first.text
    rt1 = first.json()["refresh_token"]
    second = _refresh(live, rt1)
    assert second.status_code == 200
    rt2, access2 = second.json()["refresh_token"], second.json()["access_token"]
    assert live.call("GET", ME, headers={"authorization": f"Bearer {access2}"}
                     ).status_code == 200
    # rt0 was consumed two rotations ago: a thief's copy. The family dies with it.
    stolen = _refresh(live, rt0)
    assert stolen.status_code == 401
    assert stolen.json()["error"]["code"] == "refresh_reused"
    assert _refresh(live, rt2).json()["error"]["code"] == "session_revoked"
    wait_until(lambda: live.call("GET", ME, headers={"authorization": f"Bearer {access2}"}
                                 ).status_code == 401, timeout_s=3)
    r = live.call("GET", ME, headers={"authorization": f"Bearer {access2}"})
    assert r.json()["error"]["message"] == "session revoked"


def test_concurrent_refreshes_within_the_grace_window_keep_the_user_logged_in(
    live: Live,
) -> None:
    user = live.register("127.0.0.24")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _refresh(live, user.refresh), range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    pairs = {(a.json()["access_token"], a.json()["refresh_token"]) for a in answers}
    assert len(pairs) == 1  # every tab got the same child pair
    access, refresh = pairs.pop()
    assert live.call("GET", ME, headers={"authorization": f"Bearer {access}"}).status_code == 200
    nxt = _refresh(live, refresh)
    assert nxt.status_code == 200, nxt.text  # the family is alive and rotates on


def test_logout_rejects_the_access_token_promptly(live: Live) -> None:
    user = live.register("127.0.0.25")
    assert live.call("GET", ME, headers=user.auth).status_code == 200
    started = time.monotonic()
    out = live.call("POST", "/api/v1/auth/logout", json={"refresh_token": user.refresh})
    assert out.status_code == 204
    event = live.tap.wait_event("users.session.revoked", user_id=user.user_id)
    assert event["reason"] == "logout"
    wait_until(lambda: live.call("GET", ME, headers=user.auth).status_code == 401,
               timeout_s=3)
    assert time.monotonic() - started < 3  # not at expiry (10 min), within a moment
    assert live.call("GET", ME, headers=user.auth).json()["error"]["message"] == (
        "session revoked")
    assert _refresh(live, user.refresh).status_code == 401


def test_password_change_keeps_this_session_and_ends_the_others(live: Live) -> None:
    user = live.register("127.0.0.26")
    other = User(user.email, user.user_id, user.org, None, "127.0.0.27")
    assert live.login(other).status_code == 200  # a second login: another session
    new_password = "another correct horse battery"
    r = live.call("POST", "/api/v1/auth/password/change", headers=user.auth, json={
        "current_password": user.password, "new_password": new_password})
    assert r.status_code == 200, r.text
    assert _payload(r.json()["access_token"])["sid"] == _payload(user.access)["sid"]
    wait_until(lambda: live.call("GET", ME, headers=other.auth).status_code == 401,
               timeout_s=3)
    assert live.call("GET", ME, headers=user.auth).status_code == 200  # not logged out
    assert _refresh(live, other.refresh).json()["error"]["code"] == "session_revoked"
    # this session goes on with the new pair; its earlier refresh token is spent (refused
    # without ending the session: it is not a stolen copy)
    assert _refresh(live, user.refresh).json()["error"]["code"] == "session_expired"
    assert _refresh(live, r.json()["refresh_token"]).status_code == 200
    user.password = new_password
    assert live.login(user).status_code == 200
    sessions = live.call("GET", f"{ME}/sessions", headers=user.auth).json()["items"]
    assert _payload(other.access)["sid"] not in {s["id"] for s in sessions}

