"""Issue #4, brute force, against the running platform through the gateway.

The users service runs with its production Argon2id parameters; only the thresholds are
lowered through its real settings (tests/integration/gateway/_live.py: 2 free failures,
then 0.2 s doubling to 0.4 s, lock at 5 per account and 12 per address). Every client
has its own loopback address, so the per-address counters are the clients' own, which
also proves the gateway hands the client's address on (X-Forwarded-For) and the users
service believes it only from the gateway.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.integration.gateway._live import PASSWORD, Live, live_platform

pytestmark = pytest.mark.e2e

LOGIN = "/api/v1/auth/login"


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


def _login(live: Live, email: str, password: str, ip: str,
           headers: dict[str, str] | None = None) -> httpx.Response:
    return live.call("POST", LOGIN, ip=ip, headers=headers or {},
                     json={"email": email, "password": password})


def _fail_until_locked(live: Live, email: str, ip: str, *, limit: int = 40) -> list[str]:
    """Wrong passwords, waiting out each progressive delay, until a lock answers."""
    codes: list[str] = []
    for _ in range(limit):
        r = _login(live, email, "wrong password guess", ip)
        code = r.json()["error"]["code"]
        codes.append(code)
        if code == "account_locked":
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) > 60
            return codes
        if code == "login_delayed":
            assert r.status_code == 429
            assert 0 < float(r.json()["error"]["details"]["retry_after_s"]) <= 0.4
            time.sleep(float(r.json()["error"]["details"]["retry_after_s"]))
        else:
            assert (r.status_code, code) == (401, "invalid_credentials"), r.text
    raise AssertionError(f"never locked: {codes}")


def test_brute_force_on_one_account_delays_then_locks_it(live: Live) -> None:
    victim = live.register("127.0.0.31")
    codes = _fail_until_locked(live, victim.email, "127.0.0.32")
    assert codes.count("invalid_credentials") == 5  # the lock threshold
    assert "login_delayed" in codes  # progressive delay before the lock
    assert codes[:2] == ["invalid_credentials"] * 2  # the free failures
    # locked for everyone: the right password, from the owner's own address
    r = _login(live, victim.email, PASSWORD, "127.0.0.31")
    assert (r.status_code, r.json()["error"]["code"]) == (429, "account_locked")
    assert r.json()["error"]["details"]["scope"] == "acct"
    # the attempts are audited with the attacker's address, as the gateway saw it
    audit = live.call("GET", "/api/v1/audit?action=login.failed", headers=victim.auth)
    assert audit.status_code == 200, audit.text
    rows = audit.json()["items"]
    assert len(rows) == 5
    assert {row["ip"] for row in rows} == {"127.0.0.32"}
    assert {row["detail"]["reason"] for row in rows} == {"wrong_password"}


def test_one_address_guessing_many_accounts_is_locked_out(live: Live) -> None:
    bystander = live.register("127.0.0.34")
    attacker = "127.0.0.33"
    codes: list[str] = []
    for _ in range(40):  # a different (unknown) email each time: the address is the key
        r = _login(live, f"guess-{uuid.uuid4().hex[:8]}@example.com", "password guess",
                   attacker)
        codes.append(r.json()["error"]["code"])
        if codes[-1] == "login_delayed":
            time.sleep(float(r.json()["error"]["details"]["retry_after_s"]))
        elif codes[-1] == "account_locked":
            assert r.json()["error"]["details"]["scope"] == "ip"
            break
    assert codes[-1] == "account_locked", codes
    assert codes.count("invalid_credentials") == 12
    # the address is locked even for a real account and the right password...
    r = _login(live, bystander.email, PASSWORD, attacker)
    assert (r.status_code, r.json()["error"]["code"]) == (429, "account_locked")
    # ...and a forged X-Forwarded-For does not get it out: the gateway does not believe it
    r = _login(live, bystander.email, PASSWORD, attacker,
               headers={"x-forwarded-for": "198.51.100.7"})
    assert r.json()["error"]["code"] == "account_locked"
    # other addresses are not affected
    assert _login(live, bystander.email, PASSWORD, "127.0.0.34").status_code == 200


def test_the_users_service_sees_the_clients_address_not_one_it_claims(live: Live) -> None:
    user = live.register("127.0.0.35", login=False)
    r = _login(live, user.email, PASSWORD, "127.0.0.35",
               headers={"x-forwarded-for": "203.0.113.9", "x-real-ip": "203.0.113.9",
                        "forwarded": "for=203.0.113.9"})
    assert r.status_code == 200, r.text
    me = {"authorization": f"Bearer {r.json()['access_token']}"}
    [session] = live.call("GET", "/api/v1/users/me/sessions", headers=me).json()["items"]
    assert session["ip"] == "127.0.0.35"
    [device] = live.call("GET", "/api/v1/users/me/devices", headers=me).json()["items"]
    assert device["last_ip"] == "127.0.0.35"


def test_registration_and_login_do_not_tell_who_is_registered(live: Live) -> None:
    owner = live.register("127.0.0.36", login=False)
    attacker = "127.0.0.37"
    taken = live.call("POST", "/api/v1/auth/register", ip=attacker,
                      json={"email": owner.email, "password": "attacker's own passphrase"})
    new = live.call("POST", "/api/v1/auth/register", ip=attacker,
                    json={"email": f"new-{owner.email}", "password": PASSWORD})
    assert (taken.status_code, new.status_code) == (201, 201), taken.text
    assert set(taken.json()) == set(new.json())
    assert taken.json()["user_id"] != owner.user_id
    # the owner is told instead, with the address the attempt came from
    event = live.tap.wait_event("users.registration.repeated", user_id=owner.user_id)
    assert (event["email"], event["ip"]) == (owner.email, attacker)
    # nothing changed for the owner: the password is still theirs
    assert live.login(owner).status_code == 200
    # and a login says the same for an unknown address and a wrong password
    unknown = _login(live, f"nobody-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, attacker)
    wrong = _login(live, owner.email, "attacker's own passphrase", attacker)
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["error"]["message"] == wrong.json()["error"]["message"]
    assert unknown.json()["error"]["code"] == wrong.json()["error"]["code"]
