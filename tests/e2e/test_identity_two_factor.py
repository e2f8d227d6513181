"""Issue #4, TOTP two-factor with recovery codes, against the running platform through the
gateway: enrolment, the code demanded at login, a code used once only, recovery codes
used once only, and turning it off with the password and a code.

Codes are computed here with pyotp from the secret the enrolment answer carries, as an
authenticator app would; the users service checks them against its sealed copy.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp
import pytest

from tests.integration.gateway._live import Live, User, live_platform

pytestmark = pytest.mark.e2e

TWO_FA = "/api/v1/auth/2fa"


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


def _code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _login(live: Live, user: User, **extra: Any) -> httpx.Response:
    """A login that waits out the progressive delay (2 free failures in this platform):
    the delay is the throttle's answer, not the one under test."""
    for _ in range(10):
        r = live.login(user, **extra)
        if r.status_code == 429 and r.json()["error"]["code"] == "login_delayed":
            time.sleep(float(r.json()["error"]["details"]["retry_after_s"]))
            continue
        return r
    raise AssertionError("still delayed")


def _enable(live: Live, user: User) -> tuple[str, list[str]]:
    r = live.call("POST", f"{TWO_FA}/enrol", headers=user.auth)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    secret = r.json()["secret"]
    assert r.json()["otpauth_uri"].startswith("otpauth://totp/Argosy:")
    wrong = live.call("POST", f"{TWO_FA}/confirm", headers=user.auth, json={"code": "000000"})
    assert wrong.status_code == 422, wrong.text  # not switched on by a wrong code
    r = live.call("POST", f"{TWO_FA}/confirm", headers=user.auth,
                  json={"code": _code(secret)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


def test_login_needs_the_code_once_two_factor_is_on(live: Live) -> None:
    user = live.register("127.0.0.101")
    assert live.call("GET", "/api/v1/users/me", headers=user.auth
                     ).json()["two_factor_enabled"] is False
    secret, recovery = _enable(live, user)
    assert len(set(recovery)) == 10
    assert live.call("GET", "/api/v1/users/me", headers=user.auth
                     ).json()["two_factor_enabled"] is True

    r = _login(live, user)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "totp_required")
    r = _login(live, user, totp="000000")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_totp")
    code = _code(secret, 1)  # the confirming code's step is spent; the next one is not
    r = _login(live, user, totp=code)
    assert r.status_code == 200, r.text
    assert live.call("GET", "/api/v1/users/me", headers=user.auth).status_code == 200
    replay = _login(live, user, totp=code)  # read over a shoulder, sent again
    assert (replay.status_code, replay.json()["error"]["code"]) == (401, "invalid_totp")

    assert _login(live, user, totp=recovery[0]).status_code == 200
    again = _login(live, user, totp=recovery[0])
    assert (again.status_code, again.json()["error"]["code"]) == (401, "invalid_totp")
    assert _login(live, user, totp=recovery[1].upper()).status_code == 200

    # a spent TOTP step reads as a wrong code; a spent recovery code as a replay
    audit = live.call("GET", "/api/v1/audit?action=login.failed", headers=user.auth)
    reasons = sorted(row["detail"]["reason"] for row in audit.json()["items"])
    assert reasons == ["replayed_totp", "wrong_totp", "wrong_totp"], reasons


def test_turning_two_factor_off_needs_the_password_and_a_code(live: Live) -> None:
    user = live.register("127.0.0.102")
    _, recovery = _enable(live, user)
    off = f"{TWO_FA}/disable"
    r = live.call("POST", off, headers=user.auth,
                  json={"password": "not the password at all", "code": recovery[0]})
    assert r.status_code == 401, r.text
    r = live.call("POST", off, headers=user.auth,
                  json={"password": user.password, "code": "999999"})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "code")
    r = live.call("POST", off, headers=user.auth,
                  json={"password": user.password, "code": recovery[0]})
    assert r.status_code == 204, r.text
    assert _login(live, user).status_code == 200  # no code needed any more
