"""Issue #4, "Security tests": user B (admin of organisation B, every tenant permission
there) against user A's objects on EVERY service, through the gateway of a whole running
platform (`argosy run` with all nine services and market data replayed from the real
recordings).

The routes come from the gateway's aggregated /openapi.json, so a route a service adds
later joins the matrix without anyone editing this file; a route whose path parameter
this file cannot fill fails `test_every_id_route_is_covered_or_excluded` until one of the
`_*_objects` makers below makes A's object or the route is listed in `EXCLUDED` with the
reason (that list is the reviewable part). test_identity_tenancy.py: users alone.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.e2e.test_identity_tenancy import PDF
from tests.integration.gateway._live import ApiKey, BusTap, Live, User, _nats_url, wait_until
from tests.integration.gateway._routes import Operation, example, operations
from tests.support.platform import PlatformProcess

pytestmark = pytest.mark.e2e

SPOT = "BTC-USDT.binance"
WAIT_S = 120.0  # two shared cores, nine services and a replay
#: services whose routes are not a tenant's objects at all
EXCLUDED_SERVICES = {
    "config": "operators' configuration documents; an organisation admin holds no config "
              "permission (test_identity_tenancy: an organisation admin holds no platform "
              "permission)",
    "market-data": "public market data and the operators' backfill jobs and subscriptions "
                   "(market:admin, which no organisation role holds)",
}
#: single routes the matrix cannot exercise as user B, with the reason
EXCLUDED = {
    ("PUT", "/api/v1/positions/{instrument}/leverage"):
        "`instrument` is a public market name, not an object of A's; the account it acts on "
        "is the body's `account_id`, checked with A's account in "
        "test_a_body_naming_another_tenants_account_is_refused",
    ("POST", "/api/v1/notifications/sms/status/{delivery_id}"):
        "the SMS provider's status callback: no identity at all, the provider's signature "
        "authenticates it (test_notification_receipts); a tenant's token means nothing there",
}
#: path parameters that name a choice, not an object
FIXED = {"fmt": "html"}
#: bodies for routes whose smallest schema example is refused before the object is read
BODIES: dict[tuple[str, str], Any] = {("PATCH", "/api/v1/orders/{order_id}"): {"price": "1001"}}


@dataclass
class Tenants:
    live: Live
    a: User
    b: User
    b_key: ApiKey
    objects: dict[str, str]  # path parameter -> one of A's objects
    document: dict[str, Any]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Live]:
    proc = PlatformProcess(tmp_path_factory.mktemp("tenancy") / "var",
                           env={"ARGOSY_MARKET_DATA_REPLAY_SPEED": "5"}).start()
    try:
        proc.wait_ready(300)
        tap = BusTap(_nats_url(proc))
        yield Live(proc, tap)
        tap.close()  # a fixture's teardown runs whatever the tests did
    finally:
        proc.stop()


def _ok(r: Any, *codes: int) -> dict[str, Any]:
    assert r.status_code in (codes or (200, 201, 202)), f"{r.request.url}: {r.text[:400]}"
    return r.json() if r.content else {}


def _users_objects(live: Live, a: User) -> dict[str, str]:
    account = _ok(live.call("POST", "/api/v1/accounts", headers=a.auth, json={
        "name": "Binance", "kind": "exchange", "venue": "binance"}))["id"]
    _ok(live.call("POST", f"/api/v1/accounts/{account}/credentials", headers=a.auth,
                  json={"api_key": "AKTENANTA0000001", "api_secret": "tenant-a-secret-1"}))
    key = live.api_key(a, ["accounts:read"])
    [doc] = _ok(live.call("POST", "/api/v1/kyc", headers=a.auth, data={"kind": "passport"},
                          files={"file": ("passport.pdf", PDF, "application/pdf")}))["documents"]
    [device] = _ok(live.call("GET", "/api/v1/users/me/devices", headers=a.auth))["items"]
    [session] = _ok(live.call("GET", "/api/v1/users/me/sessions", headers=a.auth))["items"]
    _ok(live.call("POST", "/api/v1/admin/roles", headers=a.auth,
                  json={"name": "desk-a", "permissions": ["orders:read"]}))
    return {"account_id": account, "key_id": key.key_id, "document_id": doc["id"],
            "user_id": a.user_id, "device_id": device["id"], "session_id": session["id"],
            "role": "desk-a"}


def _trading_objects(live: Live, a: User, paths: set[str]) -> dict[str, str]:
    """A resting order (a buy far below the replayed market) and, when the algos API is
    published, a TWAP whose children rest as well."""
    wait_until(lambda: live.call("GET", "/api/v1/market/book", headers=a.auth, params={
        "instrument": SPOT, "depth": 5}).status_code == 200, WAIT_S, 1.0)
    order = {"account_id": a.account_id, "instrument": SPOT, "side": "buy", "type": "limit",
             "quantity": "0.01", "price": "1000"}  # 10 USDT: above the minimum notional

    def place() -> Any:  # trading learns of the account and the market asynchronously
        r = live.call("POST", "/api/v1/orders", headers=a.auth, json=order)
        if r.status_code in (200, 201):
            return r
        assert r.status_code in (404, 503) or "account_id" in r.text, r.text  # else: at once
        return None

    out = {"order_id": str(wait_until(place, WAIT_S, 1.0).json()["id"])}
    if "/api/v1/algos/{algo_id}" in paths:
        algo = _ok(live.call("POST", "/api/v1/algos", headers=a.auth, json={
            "type": "twap", "instrument": SPOT, "side": "buy", "quantity": "0.02",
            "limit_price": "1000", "account_id": a.account_id,
            "params": {"duration_s": 86_400}}))
        out["algo_id"] = algo["algo_id"]
    return out


def _strategy_objects(live: Live, a: User, paths: set[str]) -> dict[str, str]:
    btc, start = "ohlcv/ftx_perp_BTC-PERP_1m.csv", 1_640_995_200_000
    model = {"name": f"tenant-a-{a.user_id[-8:].lower()}", "dataset": btc,
             "start_ms": start, "end_ms": start + 1500 * 60_000, "kind": "logistic",
             "cv_splits": 2}

    out = {"name": _slow(live, a, "/api/v1/models", model)["name"]}  # before the runs below
    out["backtest_id"] = _ok(live.call("POST", "/api/v1/backtests", headers=a.auth, json={
        "strategy": "sma_crossover", "params": {"fast": 10, "slow": 30},
        "instruments": ["BTC-USD.ftx"], "end": "2022-01-02T00:00:00Z"}))["id"]
    out["optimization_id"] = _ok(live.call("POST", "/api/v1/optimizations", headers=a.auth,
                                           json={
        "strategy": "sma_crossover", "dataset": btc, "start_ms": start,
        "end_ms": start + 3000 * 60_000, "method": "random", "n_trials": 2,
        "objectives": ["sharpe"]}))["id"]
    if "/api/v1/deployments/{deployment_id}" in paths:
        out["deployment_id"] = _ok(live.call("POST", "/api/v1/deployments", headers=a.auth,
                                             json={
            "strategy": "sma_crossover", "params": {"fast": 10, "slow": 30},
            "instruments": [SPOT], "account_id": a.account_id, "feed": "bar"}))["id"]
    return out


def _slow(live: Live, a: User, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Made inside the request (a model, a PDF): a 503 (the gateway gave up) asks again."""
    def create() -> Any:
        r = live.call("POST", path, headers=a.auth, json=body)
        assert r.status_code in (200, 201, 503), r.text
        return r if r.status_code != 503 else None

    return wait_until(create, WAIT_S, 2.0).json()  # type: ignore[no-any-return]


def _risk_objects(live: Live, a: User) -> dict[str, str]:
    report = _slow(live, a, "/api/v1/risk/reports", {"scope": "account", "key": a.account_id})
    stop = _ok(live.call("POST", "/api/v1/risk/stops", headers=a.auth, json={
        "account_id": a.account_id, "instrument": SPOT, "stop_loss": "1000"}))
    return {"report_id": report["report_id"], "stop_id": stop["stop_id"]}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _notification_objects(live: Live, a: User) -> dict[str, str]:
    alert = _ok(live.call("POST", "/api/v1/alerts/price", headers=a.auth, json={
        "instrument": SPOT, "condition": "above", "level": "10000000"}))
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint)
    push = _ok(live.call("POST", "/api/v1/notifications/push/subscribe", headers=a.auth, json={
        "endpoint": "https://push.example.com/tenant-a", "keys": {
            "p256dh": _b64(point), "auth": _b64(b"0123456789abcdef")}}))
    sent = _ok(live.call("POST", "/api/v1/notifications/test", headers=a.auth,
                         json={"channel": "inapp"}))
    [delivery] = sent["deliveries"]
    inbox = wait_until(lambda: live.call("GET", "/api/v1/notifications",
                                         headers=a.auth).json()["items"], WAIT_S, 0.5)
    [builtin, *_] = _ok(live.call("GET", "/api/v1/notifications/templates", headers=a.auth,
                                  params={"channel": "inapp"}))["items"]
    template = _ok(live.call("POST", "/api/v1/notifications/templates", headers=a.auth, json={
        k: builtin[k] for k in ("event_type", "channel", "locale", "subject", "body")}))
    return {"alert_id": alert["id"], "subscription_id": push["id"],
            "delivery_id": delivery["id"], "notification_id": inbox[0]["id"],
            "template_id": template["id"]}


@pytest.fixture(scope="module")
def tenants(platform: Live) -> Tenants:
    live = platform
    a, b = live.register("127.0.0.61"), live.register("127.0.0.62")
    perms = live.call("GET", "/api/v1/users/me", headers=b.auth).json()["permissions"]
    document = live.call("GET", "/openapi.json").json()
    paths = set(document["paths"])
    objects = {**_users_objects(live, a), **_trading_objects(live, a, paths),
               **_risk_objects(live, a), **_notification_objects(live, a),
               **_strategy_objects(live, a, paths)}  # last: its runs load the cores
    return Tenants(live, a, b, live.api_key(b, perms), objects, document)


def _matrix(t: Tenants) -> list[Operation]:
    return [op for op in operations(t.document) if op.params
            and op.service not in EXCLUDED_SERVICES and (op.method, op.path) not in EXCLUDED]


def _state(t: Tenants) -> dict[str, Any]:
    """What B's requests must not have changed in A's objects (read back by A)."""
    def get(path: str) -> Any:
        return _ok(t.live.call("GET", path, headers=t.a.auth))

    o = t.objects
    state = {
        "order": get(f"/api/v1/orders/{o['order_id']}")["status"],
        "alerts": [a["id"] for a in get("/api/v1/alerts/price")["items"]],
        "stop": [s["status"] for s in get("/api/v1/risk/stops")["items"]
                 if s["stop_id"] == o["stop_id"]],
        "read": [n["read"] for n in get("/api/v1/notifications?limit=200")["items"]
                 if n["id"] == o["notification_id"]],
        "template": o["template_id"] in json.dumps(get("/api/v1/notifications/templates")),
        "key": o["key_id"] in json.dumps(get("/api/v1/api-keys")),
        "session": o["session_id"] in json.dumps(get("/api/v1/users/me/sessions")),
        "me": [get("/api/v1/users/me")[k] for k in ("org", "roles")],
        "roles": sorted(r["name"] for r in get("/api/v1/admin/roles")["items"]),
        "credentials": get(f"/api/v1/accounts/{o['account_id']}/credentials") != {},
        "kyc": get(f"/api/v1/kyc/cases/{t.a.user_id}")["state"],
    }
    if "algo_id" in o:  # it may fill, expire or fail by itself; B must not pause or cancel it
        state["algo"] = get(f"/api/v1/algos/{o['algo_id']}")["status"] in ("paused", "cancelled")
    if "deployment_id" in o:  # it may start running meanwhile, never stop or pause
        state["deployment"] = get(f"/api/v1/deployments/{o['deployment_id']}")["status"] in (
            "stopped", "paused")
    return state


def test_every_id_route_is_covered_or_excluded(tenants: Tenants) -> None:
    """A route with an object id that a service adds later fails here until the matrix
    can make that object for A, or the route is excluded above with its reason."""
    t = tenants
    values = {**FIXED, **t.objects}
    unknown = sorted(f"{op.method} {op.path}: {[p for p in op.params if p not in values]}"
                     for op in _matrix(t) if any(p not in values for p in op.params))
    assert not unknown, "id routes neither covered nor excluded:\n" + "\n".join(unknown)
    published = {(op.method, op.path) for op in operations(t.document)}
    assert not set(EXCLUDED) - published, "stale exclusions: the route is gone"
    assert {op.service for op in _matrix(t)} >= {
        "users", "trading", "strategy", "risk", "notification"}


def test_another_tenants_objects_are_404_on_every_id_route_of_every_service(
    tenants: Tenants,
) -> None:
    t, live = tenants, tenants.live
    values = {**FIXED, **t.objects}
    secrets = {**t.objects, "email": t.a.email, "org": t.a.org}
    ops = [op for op in _matrix(t) if all(p in values for p in op.params)]
    before = _state(t)
    wrong: list[str] = []
    for op in ops:
        url = op.url(values)
        body = BODIES.get((op.method, op.path))
        if body is None and op.body is not None:
            body = example(op.body, t.document)
        content = json.dumps(body).encode() if body is not None else b""
        headers = {"content-type": "application/json"} if body is not None else {}
        signed = t.b_key.headers(op.method, url, "", content)
        for who, creds in (("B bearer", t.b.auth), ("B api key", signed)):
            r = live.call(op.method, url, content=content or None, headers={**headers, **creds})
            # a 404 may name the id B sent; nothing else of A's may appear
            shown = [k for k, v in secrets.items() if v not in url and v in r.text]
            if r.status_code != 404 or shown:
                wrong.append(f"{who}: {op.method} {url} -> {r.status_code} {shown} "
                             f"{r.text[:160]}")
        if op.method == "GET":  # the control: the id is real, A reaches it
            own = live.call("GET", url, headers=t.a.auth)
            if own.status_code != 200:
                wrong.append(f"A (control): GET {url} -> {own.status_code} {own.text[:160]}")
    assert not wrong, f"{len(wrong)} wrong answers:\n" + "\n".join(wrong)
    assert _state(t) == before  # none of B's requests changed anything of A's
    assert len(ops) >= 42, len(ops)  # 42 id routes on five services today


def _query_ids(t: Tenants, op: Operation) -> dict[str, str]:
    """A's ids for the query parameters of a listing that filter by an object."""
    declared = t.document["paths"][op.path]["get"].get("parameters", [])
    names = {p["name"] for p in declared if p.get("in") == "query"}
    out = {n: t.objects[n] for n in names if n in t.objects}
    if "key" in names:  # /risk/exposure, /risk/reports: scope=account&key=<account>
        out.update(scope="account", key=t.objects["account_id"])
    return out


def test_no_listing_of_any_service_shows_another_tenants_objects(tenants: Tenants) -> None:
    """Every GET without an id (lists, exports, the audit log, exposure) read by B: none of
    A's ids, email or organisation, also when B filters by one of A's ids."""
    t, live = tenants, tenants.live
    secrets = {**t.objects, "email": t.a.email, "org": t.a.org}
    lists = [op for op in operations(t.document) if op.method == "GET" and not op.params
             and op.service not in EXCLUDED_SERVICES and op.path.startswith("/api/")]
    wrong: list[str] = []
    answered: set[str] = set()
    for op in lists:
        filters = _query_ids(t, op)
        for params in ({}, {"limit": "200"}, {"format": "jsonl"}, filters):
            r = live.call("GET", op.path, params=params, headers=t.b.auth)
            if r.status_code == 200:
                answered.add(op.service)
            sent = set(params.values()) if r.status_code != 200 else set()  # a 404 may echo
            shown = [k for k, v in secrets.items() if v not in sent and v in r.text]
            if shown:
                wrong.append(f"GET {op.path} {params} -> {r.status_code} shows A's {shown}")
    assert not wrong, "\n".join(wrong)
    assert answered >= {"users", "trading", "strategy", "risk", "notification"}, answered
    # the control: A's own listings show A's objects
    o = t.objects
    for path, key in (("/api/v1/orders", "order_id"), ("/api/v1/backtests", "backtest_id"),
                      ("/api/v1/optimizations", "optimization_id"), ("/api/v1/models", "name"),
                      ("/api/v1/alerts/price", "alert_id"), ("/api/v1/risk/stops", "stop_id"),
                      ("/api/v1/risk/reports", "report_id")):
        assert o[key] in live.call("GET", path, headers=t.a.auth).text, path


#: valid bodies for the writes that name an account (A's is then set in them)
REF_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/orders"): {"instrument": SPOT, "side": "buy", "type": "limit",
                                 "quantity": "0.01", "price": "1000"},
    ("POST", "/api/v1/algos"): {"type": "twap", "instrument": SPOT, "side": "buy",
                                "quantity": "0.02", "limit_price": "1000",
                                "params": {"duration_s": 3600}},
    ("POST", "/api/v1/deployments"): {"strategy": "sma_crossover", "instruments": [SPOT],
                                      "params": {"fast": 10, "slow": 30}, "feed": "bar"},
    ("POST", "/api/v1/risk/stops"): {"instrument": SPOT, "stop_loss": "1000"},
    ("POST", "/api/v1/risk/check"): {"instrument": SPOT, "side": "buy", "quantity": "0.01",
                                     "price": "1000"},
    ("POST", "/api/v1/risk/reports"): {"scope": "account"},
    ("POST", "/api/v1/risk/kill-switch"): {"level": "account", "reason": "tenancy test"},
}


def _declared(schema: dict[str, Any] | None, document: dict[str, Any]) -> set[str]:
    """The body's property names, through refs and an optional (`X | None`) body."""
    while schema is not None:
        if "$ref" in schema:
            _, _, kind, name = schema["$ref"].split("/", 3)
            schema = document["components"][kind][name]
        elif "anyOf" in schema:
            schema = next((s for s in schema["anyOf"] if s.get("type") != "null"), None)
        else:
            return set(schema.get("properties", {}))
    return set()


def test_a_body_naming_another_tenants_account_is_refused(tenants: Tenants) -> None:
    """Every write whose body names an account (`account_id`, `account_ids`, or a scope
    `key`), sent by B with A's account: 404, and nothing of A's changes (an order, a stop,
    a kill switch, a report or a deployment on A's account would be a breach)."""
    t, live = tenants, tenants.live
    account = t.objects["account_id"]
    secrets = {**t.objects, "email": t.a.email, "org": t.a.org}
    before = _state(t)
    wrong: list[str] = []
    sent = 0
    for op in operations(t.document):
        if op.method not in ("POST", "PUT", "PATCH") or op.params or (
                op.service in EXCLUDED_SERVICES):
            continue
        refs = {"account_id": account, "account_ids": [account], "key": account}
        names = _declared(op.body, t.document) & set(refs)
        if not names:
            continue
        body = {**REF_BODIES.get((op.method, op.path), {}), **{n: refs[n] for n in names}}
        body.pop("account_ids", None)  # a SOR's accounts: the single one is enough here
        r = live.call(op.method, op.path, json=body, headers=t.b.auth)
        sent += 1
        shown = [k for k, v in secrets.items() if v != account and v in r.text]
        if r.status_code != 404 or shown:
            wrong.append(f"{op.method} {op.path} {body} -> {r.status_code} {shown} "
                         f"{r.text[:200]}")
    assert not wrong, f"{len(wrong)} wrong answers:\n" + "\n".join(wrong)
    assert sent >= 7, sent
    # 404: A's user, and a smart order route through B's and A's accounts; another
    # organisation, or every organisation at once: refused outright (403)
    sor = {**REF_BODIES[("POST", "/api/v1/algos")], "type": "sor", "params": {},
           "account_ids": [t.b.account_id, account]}
    for path, body, status in (("/risk/kill-switch", {"level": "user", "key": t.a.user_id}, 404),
                               ("/risk/kill-switch", {"level": "org", "key": t.a.org}, 403),
                               ("/risk/kill-switch", {"level": "global"}, 403),
                               ("/algos", sor, 404)):
        r = live.call("POST", f"/api/v1{path}", headers=t.b.auth, json=body)
        assert r.status_code == status, (body, r.text)
    # leverage on A's account, named in the body under a path that names an instrument
    leverage = "/api/v1/positions/BTC-USDT-PERP.binance/leverage"
    own = live.call("PUT", leverage, headers=t.b.auth, json={"leverage": 5})
    assert own.status_code == 200, own.text  # the control: a known perp, B's own account
    r = live.call("PUT", leverage, headers=t.b.auth, json={"leverage": 5, "account_id": account})
    assert (r.status_code, r.json()["error"]["field"]) == (404, "account_id"), r.text
    # a model name is one namespace: B may not add a version to A's model
    r = live.call("POST", "/api/v1/models", headers=t.b.auth, json={
        "name": t.objects["name"], "dataset": "ohlcv/ftx_perp_BTC-PERP_1m.csv",
        "kind": "logistic", "cv_splits": 2})
    assert (r.status_code, r.json()["error"]["field"]) == (409, "name"), r.text
    assert _state(t) == before
