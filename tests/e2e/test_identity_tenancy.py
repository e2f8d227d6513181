"""Issue #4, tenants and permissions, against the running platform through the gateway.

The object-id matrix and the privileged-field checks are generated from the gateway's
aggregated /openapi.json: every route of a tenant service (users now; trading, strategy,
notification... as soon as they are started here and publish routes) is covered without
editing this file. A route whose path parameter names an object this file does not know
how to make fails the matrix with the parameter's name: add a maker to `_objects`.

This platform (config, users, gateway, trading) runs no market data, strategy, risk or
notification service: the same matrix over EVERY service's id routes, with real orders,
algos, backtests, stops, alerts... of A's, is tests/e2e/test_tenancy_matrix.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.gateway._live import ApiKey, Live, User, live_platform, wait_until
from tests.integration.gateway._routes import (
    BODY_METHODS,
    PLATFORM_SERVICES,
    Operation,
    example,
    operations,
    properties,
)

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PRIVILEGED = ("user_id", "role", "org", "organisation", "is_admin")


@pytest.fixture(scope="session")
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Live:
    return live_platform(request, tmp_path_factory)


@dataclass
class Tenants:
    a: User  # owns the objects
    b: User  # admin of another organisation: every tenant permission there
    b_key: ApiKey
    objects: dict[str, str]  # path parameter → one of A's objects
    document: dict[str, Any]


def _order(live: Live, a: User) -> str | None:
    """A resting order of A's on A's paper account, or None while trading cannot place
    one on this platform: it needs the market-data service (instrument filters), which
    these tests do not start. Any other refusal fails here."""

    def place() -> Any:
        r = live.call("POST", "/api/v1/orders", headers=a.auth, json={
            "account_id": a.account_id, "instrument": "BTC-USDT.binance", "side": "buy",
            "type": "limit", "quantity": "0.001", "price": "1000"})
        # trading learns of the account from `users.account.created`: it may not yet
        return None if r.json().get("error", {}).get("field") == "account_id" else r

    r = wait_until(place, timeout_s=15, step_s=0.5)
    if r.status_code == 503 and r.json()["error"]["message"].startswith("market-data"):
        return None
    assert r.status_code in (200, 201), r.text
    return str(r.json()["id"])


def _objects(live: Live, a: User) -> dict[str, str]:
    """One object of A's per path parameter name the platform's routes use."""
    r = live.call("POST", "/api/v1/accounts", headers=a.auth,
                  json={"name": "Binance", "kind": "exchange", "venue": "binance"})
    assert r.status_code == 201, r.text
    account = r.json()["id"]
    r = live.call("POST", f"/api/v1/accounts/{account}/credentials", headers=a.auth,
                  json={"api_key": "AKTENANTA0000001", "api_secret": "tenant-a-secret-1"})
    assert r.status_code == 200, r.text
    key = live.api_key(a, ["accounts:read"])
    r = live.call("POST", "/api/v1/kyc", headers=a.auth,
                  files={"file": ("passport.pdf", PDF, "application/pdf")},
                  data={"kind": "passport"})
    assert r.status_code == 201, r.text
    [doc] = r.json()["documents"]
    [device] = live.call("GET", "/api/v1/users/me/devices", headers=a.auth).json()["items"]
    [session] = live.call("GET", "/api/v1/users/me/sessions", headers=a.auth).json()["items"]
    r = live.call("POST", "/api/v1/admin/roles", headers=a.auth,
                  json={"name": "desk-a", "permissions": ["orders:read"]})
    assert r.status_code == 201, r.text
    order = _order(live, a)
    made = {"account_id": account, "key_id": key.key_id, "document_id": doc["id"],
            "user_id": a.user_id, "device_id": device["id"], "session_id": session["id"],
            "role": "desk-a"}
    return {**made, "order_id": order} if order else made


@pytest.fixture(scope="module")
def tenants(live: Live) -> Tenants:
    a, b = live.register("127.0.0.41"), live.register("127.0.0.42")
    perms = live.call("GET", "/api/v1/users/me", headers=b.auth).json()["permissions"]
    document = live.call("GET", "/openapi.json").json()
    return Tenants(a, b, live.api_key(b, perms), _objects(live, a), document)


def _body(op: Operation, document: dict[str, Any]) -> Any:
    return example(op.body, document) if op.body is not None else None


def _tenant_operations(t: Tenants) -> list[Operation]:
    return [op for op in operations(t.document)
            if op.params and op.service not in PLATFORM_SERVICES]


def test_another_tenants_objects_are_404_on_every_route_that_takes_an_id(
    live: Live, tenants: Tenants,
) -> None:
    t = tenants
    ops = _tenant_operations(t)
    if "order_id" not in t.objects:
        # see _order: trading cannot make objects without market data, which this
        # platform does not run: test_tenancy_matrix covers them on one that does
        ops = [op for op in ops
               if op.service != "trading" or all(p in t.objects for p in op.params)]
    unknown = sorted({f"{p} ({op.path})" for op in ops for p in op.params
                      if p not in t.objects})
    assert not unknown, f"routes take ids this matrix cannot make for user A: {unknown}"
    covered = {op.path.split("/")[3] for op in ops}
    assert {"accounts", "api-keys", "kyc", "users", "admin"} <= covered, covered
    wrong: list[str] = []
    for op in ops:
        url = op.url(t.objects)
        body = _body(op, t.document)
        content = json.dumps(body).encode() if body is not None else b""
        headers = {"content-type": "application/json"} if body is not None else {}
        signed = t.b_key.headers(op.method, url, "", content)
        for who, creds in (("B bearer", t.b.auth), ("B api key", signed)):
            r = live.call(op.method, url, content=content or None,
                          headers={**headers, **creds})
            if r.status_code != 404:
                wrong.append(f"{who}: {op.method} {url} -> {r.status_code} {r.text[:120]}")
        if op.method == "GET":  # the control: the id is real, A reaches it
            own = live.call("GET", url, headers=t.a.auth)
            if own.status_code != 200:
                wrong.append(f"A (control): GET {url} -> {own.status_code} {own.text[:120]}")
    assert not wrong, "\n".join(wrong)
    assert len(ops) >= 20  # 22 users routes take an id today


def test_no_listing_or_export_shows_another_tenants_objects(
    live: Live, tenants: Tenants,
) -> None:
    """Every GET route without an id (lists, exports, the audit log, the KYC queue) read
    by B, an admin of another organisation: none of A's ids, nor A's email, in the answer."""
    t = tenants
    secrets_of_a = {**t.objects, "email": t.a.email, "org": t.a.org}
    lists = [op for op in operations(t.document) if op.method == "GET" and not op.params
             and op.service not in PLATFORM_SERVICES and op.path.startswith("/api/")]
    wrong: list[str] = []
    answered = set()
    for op in lists:
        for query in ("", "?format=jsonl", "?format=csv", "?limit=500"):
            r = live.call("GET", op.path + query, headers=t.b.auth)
            if r.status_code == 200:
                answered.add(op.path)
            leaked = [k for k, v in secrets_of_a.items() if v in r.text]
            if leaked:
                wrong.append(f"GET {op.path}{query} -> {r.status_code} shows A's {leaked}")
    assert not wrong, "\n".join(wrong)
    assert {"/api/v1/accounts", "/api/v1/api-keys", "/api/v1/audit", "/api/v1/audit/export",
            "/api/v1/admin/users", "/api/v1/users/me/sessions"} <= answered, answered
    # the control: A's own listings do show them
    mine = live.call("GET", "/api/v1/audit/export?format=jsonl", headers=t.a.auth).text
    assert t.objects["account_id"] in mine
    assert t.objects["key_id"] in live.call("GET", "/api/v1/api-keys", headers=t.a.auth).text


def _snapshot(live: Live, user: User) -> dict[str, Any]:
    paths = ("/api/v1/users/me", "/api/v1/accounts", "/api/v1/api-keys",
             "/api/v1/admin/users", "/api/v1/admin/roles", "/api/v1/kyc")
    return {p: live.call("GET", p, headers=user.auth).json() for p in paths}


def test_unknown_and_privileged_body_fields_are_refused_and_never_applied(
    live: Live, tenants: Tenants,
) -> None:
    t = tenants
    before = _snapshot(live, t.a)
    wrong: list[str] = []
    checked = 0
    for op in operations(t.document):
        if op.method.lower() not in BODY_METHODS or op.body is None:
            continue
        if op.service in PLATFORM_SERVICES:
            continue
        declared = properties(op.body, t.document)
        # a body is checked before its object is looked up: an id not made here will do
        url = op.url({**{p: "unmade_0123456789" for p in op.params}, **t.objects})
        for name in PRIVILEGED:
            if name in declared:
                continue  # a real field of this body (e.g. `role` when assigning one)
            value: Any = True if name == "is_admin" else (
                "admin" if name == "role" else t.b.org if "org" in name else t.b.user_id)
            body = {**_body(op, t.document), name: value}
            r = live.call(op.method, url, json=body, headers=t.a.auth)
            checked += 1
            error = r.json().get("error", {}) if r.content else {}
            if r.status_code != 422 or error.get("field") != name:
                wrong.append(f"{op.method} {url} +{name}: {r.status_code} {r.text[:150]}")
    assert not wrong, "\n".join(wrong)
    assert checked >= 60
    r = live.call("POST", "/api/v1/kyc", headers=t.a.auth, data={
        "kind": "passport", "user_id": t.b.user_id},
        files={"file": ("p.pdf", PDF, "application/pdf")})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "user_id")
    assert _snapshot(live, t.a) == before  # nothing was applied
    me = live.call("GET", "/api/v1/users/me", headers=t.a.auth).json()
    assert (me["org"], me["roles"]) == (t.a.org, ["admin"])


def test_a_viewer_cannot_place_an_order_and_a_trader_reaches_trading(
    live: Live, tenants: Tenants,
) -> None:
    viewer = live.invite(tenants.a, "viewer", ip="127.0.0.43")
    trader = live.invite(tenants.a, "trader", ip="127.0.0.44")

    def order(user: User) -> dict[str, Any]:
        return {"account_id": user.account_id, "instrument": "BTC-USDT.binance",
                "side": "buy", "type": "limit", "quantity": "0.001", "price": "1000"}

    r = live.call("POST", "/api/v1/orders", json=order(viewer), headers=viewer.auth)
    assert r.status_code == 403, r.text
    # decided by the gateway before any upstream call: its own error, naming the permission
    assert r.json()["error"]["message"] == "orders:write required"
    assert r.json()["error"]["field"] == "permission"
    refused = r.headers["x-request-id"]
    # a trader gets through to the trading process, whatever trading then answers (it
    # needs market data this platform does not run): not the gateway's 403
    r = live.call("POST", "/api/v1/orders", json=order(trader), headers=trader.auth)
    assert r.status_code != 403, r.text
    assert r.json().get("error", {}).get("field") != "permission"
    wait_until(lambda: r.headers["x-request-id"] in live.proc.service_log("trading"))
    assert refused in live.proc.service_log("gateway")
    assert refused not in live.proc.service_log("trading")  # never forwarded
    # reading is the viewer's right: it reaches trading too, and finds no order of theirs
    r = live.call("GET", "/api/v1/orders", headers=viewer.auth)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []


def test_an_organisation_admin_holds_no_platform_permission(
    live: Live, tenants: Tenants,
) -> None:
    """Self-registration makes the registrant admin of a new organisation, not of the
    platform: the configuration every tenant shares is the operators' (argosy config)."""
    b = tenants.b
    perms = set(live.call("GET", "/api/v1/users/me", headers=b.auth).json()["permissions"])
    assert not perms & {"config:read", "config:write", "market:admin"}, perms
    for method, path, body in (
        ("GET", "/api/v1/config/documents", None),
        ("GET", "/api/v1/config/documents/gateway/routes", None),
        ("PUT", "/api/v1/config/documents/gateway/routes",
         {"content": {"routes": [{"prefix": "/api/v1/accounts", "auth": "public"}]}}),
        ("PUT", "/api/v1/config/documents/gateway/settings",
         {"content": {"rate_limits": False}}),
    ):
        for creds in (b.auth, tenants.b_key.headers(
                method, path, "", json.dumps(body).encode() if body else b"")):
            r = live.call(method, path, headers={**creds, "content-type": "application/json"},
                          content=json.dumps(body).encode() if body else None)
            assert r.status_code == 403, (method, path, r.text)
    r = live.proc.request("GET", "config", "/api/v1/config/documents/gateway/routes")
    assert r.status_code == 404  # never written
