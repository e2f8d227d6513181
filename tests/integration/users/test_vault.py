"""Trading accounts and the exchange-credential vault: envelope encryption, masking, the
trading-service-only reveal, and secrets that never reach a log line or a response."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from argosy.platform.auth.internal import Principal
from argosy.platform.logging import configure_logging
from tests.integration.users._harness import User, UsersHarness

pytestmark = pytest.mark.integration

API_KEY = "AKIAEXAMPLEKEY0123456789WXYZ"
SECRET = "sEcReT-9f8e7d6c5b4a39281706-DO-NOT-LEAK"
PASSPHRASE = "pass-phrase-also-secret-42"
TRADING = Principal("service:trading", frozenset())
GATEWAY = Principal("service:gateway", frozenset())


async def exchange_account(h: UsersHarness, user: User, **extra: object) -> str:
    r = await h.call("POST", "/api/v1/accounts", user,
                     json={"name": "binance main", "kind": "exchange", "venue": "binance",
                           **extra})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def store(h: UsersHarness, user: User, account_id: str) -> dict[str, object]:
    r = await h.call("POST", f"/api/v1/accounts/{account_id}/credentials", user,
                     json={"api_key": API_KEY, "api_secret": SECRET, "passphrase": PASSPHRASE})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_accounts_and_sub_accounts(users: UsersHarness) -> None:
    alice = await users.register()
    main = await exchange_account(users, alice)
    r = await users.call("POST", "/api/v1/accounts", alice,
                         json={"name": "grid bot", "kind": "exchange", "parent_id": main})
    assert r.status_code == 201
    sub = r.json()
    assert (sub["parent_id"], sub["venue"], sub["starting_balance"]) == (main, "binance", None)
    for body, field in (
        ({"name": "x", "kind": "exchange"}, "venue"),
        ({"name": "x", "kind": "paper", "venue": "binance"}, "venue"),
        ({"name": "x", "kind": "exchange", "parent_id": sub["id"]}, "parent_id"),
        ({"name": "x", "kind": "paper", "parent_id": main}, "parent_id"),
        ({"name": "x", "kind": "exchange", "venue": "binance", "starting_balance": "1"},
         "starting_balance"),
        ({"name": "x", "kind": "futures"}, "kind"),
    ):
        r = await users.call("POST", "/api/v1/accounts", alice, json=body)
        assert r.status_code == 422, body
        assert r.json()["error"]["field"] == field
    r = await users.call("POST", "/api/v1/accounts", alice,
                         json={"name": "x", "kind": "exchange", "parent_id": "acc_unknown"})
    assert r.status_code == 404
    items = (await users.call("GET", "/api/v1/accounts", alice)).json()["items"]
    assert [a["kind"] for a in items] == ["paper", "exchange", "exchange"]
    created = [e for e in users.published("users.account.created") if e["user_id"] == alice.id]
    await users.wait_for(lambda: len([e for e in users.published("users.account.created")
                                      if e["user_id"] == alice.id]) == 3)
    assert created is not None


async def test_credentials_are_sealed_masked_and_revealed_only_to_trading(
    users: UsersHarness,
) -> None:
    alice = await users.register()
    account = await exchange_account(users, alice)
    out = await store(users, alice, account)
    assert out["api_key_masked"] == "AKIA…WXYZ"
    assert out["has_passphrase"] is True
    shown = await users.call("GET", f"/api/v1/accounts/{account}/credentials", alice)
    assert shown.json()["api_key_masked"] == "AKIA…WXYZ"
    sealed = (await users.sql("SELECT sealed, api_key_masked FROM credentials"))[0]
    for plain in (API_KEY, SECRET, PASSPHRASE):
        assert plain not in str(sealed)
    # the ciphertext is bound to its account: moved to another row it does not open
    other = await exchange_account(users, alice, name="second")
    await users.sql("INSERT INTO credentials (account_id, org_id, api_key_masked, sealed, "
                    "created_ns, updated_ns) VALUES (:a, :o, 'x', :s, 1, 1)",
                    a=other, o=alice.org, s=sealed[0])
    moved = await users.call("GET", f"/internal/v1/credentials/{other}", TRADING)
    assert moved.status_code == 503
    assert SECRET not in moved.text

    r = await users.call("GET", f"/internal/v1/credentials/{account}", TRADING)
    assert r.status_code == 200
    assert (r.json()["api_key"], r.json()["api_secret"], r.json()["passphrase"]) == (
        API_KEY, SECRET, PASSPHRASE)
    assert r.headers["cache-control"] == "no-store"
    for who, status in ((GATEWAY, 403), (Principal(f"user:{alice.id}", frozenset({"*"}),
                                                   alice.org), 403), (None, 401)):
        r = await users.call("GET", f"/internal/v1/credentials/{account}", who)
        assert r.status_code == status
        assert SECRET not in r.text
    audit = await users.sql("SELECT actor FROM audit_log WHERE action = 'credential.revealed'")
    assert audit == [("service:trading",)]


async def test_paper_accounts_take_no_credentials(users_sqlite: UsersHarness) -> None:
    alice = await users_sqlite.register()
    r = await users_sqlite.call("POST", f"/api/v1/accounts/{alice.account_id}/credentials",
                                alice, json={"api_key": API_KEY, "api_secret": SECRET})
    assert r.status_code == 422
    assert SECRET not in r.text


async def test_exchange_secrets_never_reach_a_log_line_or_a_response(
    users_sqlite: UsersHarness, capsys: pytest.CaptureFixture[str],
) -> None:
    h = users_sqlite
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("debug", fmt="json", service="users")
    try:
        alice = await h.register()
        account = await exchange_account(h, alice)
        responses = [await h.call("POST", f"/api/v1/accounts/{account}/credentials", alice,
                                  json={"api_key": API_KEY, "api_secret": SECRET,
                                        "passphrase": PASSPHRASE})]
        url = f"/api/v1/accounts/{account}/credentials"
        responses += [
            await h.call("GET", url, alice),
            await h.call("GET", f"/api/v1/accounts/{account}", alice),
            await h.call("GET", "/api/v1/accounts", alice),
            await h.call("POST", url, alice, json={"api_key": API_KEY, "api_secret": SECRET,
                                                   "user_id": "usr_x"}),  # 422
            await h.call("POST", url, alice, json={"api_key": API_KEY, "api_secret": 12345}),
            await h.call("POST", url, alice, json={"api_key": "k", "api_secret": SECRET}),
            await h.call("POST", "/api/v1/accounts/acc_missing/credentials", alice,
                         json={"api_key": API_KEY, "api_secret": SECRET}),
            await h.call("GET", f"/internal/v1/credentials/{account}", GATEWAY),
            await h.call("GET", f"/api/v1/audit?target_id={account}", alice),
            await h.call("GET", "/api/v1/audit/export?format=csv", alice),
        ]
        revealed = await h.call("GET", f"/internal/v1/credentials/{account}", TRADING)
        assert revealed.status_code == 200
        logging.getLogger("argosy.test").info("marker-line")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.reset_defaults()
    out = capsys.readouterr()
    logs = out.out + out.err
    lines = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert any(line.get("event") == "marker-line" for line in lines)  # captured at all
    assert len(lines) > 20
    assert "credential.stored" in logs or "/credentials" in logs
    for plain in (SECRET, PASSPHRASE, API_KEY):
        assert plain not in logs, plain
        for r in responses:
            assert plain not in r.text, (r.request.url, r.text)
    assert [r.status_code for r in responses[4:8]] == [422, 422, 422, 404]
