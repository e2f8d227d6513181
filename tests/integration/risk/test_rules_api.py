"""Rules CRUD, versioning, the internal endpoint, the change event, dry runs, kill switch."""

from __future__ import annotations

from typing import Any

from argosy.contracts.v1.risk import RuleSetOut
from argosy.kernel.pretrade import PreTradeEngine
from tests.integration.risk.conftest import RiskHarness

RULES: list[dict[str, Any]] = [
    {"id": "qty", "kind": "max_order_quantity", "limit": "2"},
    {"id": "band", "kind": "price_band_bps", "limit": "100"},
    {"id": "ban", "kind": "restricted_instruments", "instruments": ["LUNA-USDT.binance"]},
]


async def test_put_get_version_and_event(risk_any_db: RiskHarness) -> None:
    h = risk_any_db
    r = await h.call("GET", "/api/v1/risk/rules")
    assert r.status_code == 200
    assert r.json()["version"] == 0
    r = await h.call("PUT", "/api/v1/risk/rules", json={"rules": RULES, "comment": "first"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    r = await h.call("GET", "/api/v1/risk/rules")
    body = r.json()
    assert body["version"] == 1
    assert [x["id"] for x in body["rules"]] == ["qty", "band", "ban"]
    await h.until(lambda: len(h.topics("risk.rules.changed")) == 1)
    event = h.topics("risk.rules.changed")[0]
    assert event["version"] == 1
    engine = PreTradeEngine(RuleSetOut.model_validate(event["ruleset"]).to_ruleset())
    assert len(engine.ruleset.rules) == 3
    hist = (await h.call("GET", "/api/v1/risk/rules/history")).json()["items"]
    assert [v["version"] for v in hist] == [1]


async def test_invalid_update_is_422_naming_field_and_old_rules_stay(
    risk_any_db: RiskHarness,
) -> None:
    h = risk_any_db
    assert (await h.call("PUT", "/api/v1/risk/rules", json={"rules": RULES})).status_code == 200
    bad = [*RULES, {"id": "qty2", "kind": "max_order_quantity", "limit": "5"}]
    r = await h.call("PUT", "/api/v1/risk/rules", json={"rules": bad})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "rules[3].scope"
    r = await h.call(
        "PUT", "/api/v1/risk/rules",
        json={"rules": [{"id": "x", "kind": "max_drawdown", "limit": "abc"}]},
    )  # fmt: skip
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "rules[0].limit"
    r = await h.call("PUT", "/api/v1/risk/rules", json={"rules": [{"id": "x", "kind": "nope"}]})
    assert r.status_code == 422
    assert r.json()["error"]["field"].startswith("rules.0.kind")
    current = (await h.call("GET", "/api/v1/risk/rules")).json()
    assert current["version"] == 1
    assert len(current["rules"]) == 3


async def test_optimistic_lock_and_permissions(risk: RiskHarness) -> None:
    h = risk
    body = {"rules": RULES, "expected_version": 0}
    assert (await h.call("PUT", "/api/v1/risk/rules", json=body)).status_code == 200
    r = await h.call("PUT", "/api/v1/risk/rules", json=body)
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "expected_version"
    trader = h.user()
    assert (await h.call("PUT", "/api/v1/risk/rules", trader, json=body)).status_code == 403
    assert (await h.call("GET", "/api/v1/risk/rules", trader)).status_code == 200
    assert (await h.call("GET", "/api/v1/risk/rules", None)).status_code == 401
    # an organisation admin may only write rules scoped to their organisation
    admin = h.user(org="org_a", admin=True)
    mine = {"rules": [{"id": "o", "kind": "max_open_orders", "limit": "3",
                       "scope": {"org": "org_a"}}]}  # fmt: skip
    assert (await h.call("PUT", "/api/v1/risk/rules", admin, json=mine)).status_code == 200
    r = await h.call("PUT", "/api/v1/risk/rules", admin, json={"rules": RULES})
    assert r.status_code == 403
    assert r.json()["error"]["field"] == "rules[0].scope.org"


async def test_internal_rules_for_services_only(risk: RiskHarness) -> None:
    h = risk
    await h.call("PUT", "/api/v1/risk/rules", json={"rules": RULES})
    from argosy.platform.auth.internal import Principal

    trading = Principal("service:trading", frozenset())
    r = await h.call("GET", "/internal/v1/risk/rules", trading)
    assert r.status_code == 200
    rs = RuleSetOut.model_validate(r.json()).to_ruleset()
    assert rs.version == 1
    assert (await h.call("GET", "/internal/v1/risk/rules", h.user())).status_code == 403


async def test_dry_run_check_lists_evaluated_rules(risk_any_db: RiskHarness) -> None:
    h = risk_any_db
    await h.call("PUT", "/api/v1/risk/rules", json={"rules": RULES})
    trader = h.user()
    order = {"account_id": "acc_1", "instrument": "BTC-USDT.binance", "side": "buy",
             "quantity": "2", "price": "100", "mark_price": "100"}  # fmt: skip
    r = await h.call("POST", "/api/v1/risk/check", trader, json=order)
    assert r.status_code == 200, r.text
    assert r.json() == {"allowed": True, "rule_id": None, "code": None, "reason": None,
                        "evaluated": ["ban", "qty", "band"], "version": 1}  # fmt: skip
    r = await h.call("POST", "/api/v1/risk/check", trader, json={**order, "quantity": "2.0001"})
    assert r.json()["allowed"] is False
    assert r.json()["rule_id"] == "qty"
    r = await h.call("POST", "/api/v1/risk/check", trader, json={**order, "price": "101.01"})
    assert r.json()["code"] == "price_band_bps"
    r = await h.call("POST", "/api/v1/risk/check", trader, json={**order, "quantity": "-1"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "quantity"
    r = await h.call("POST", "/api/v1/risk/check", trader, json={**order, "instrument": "X"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "instrument"


async def test_kill_switch_engage_release_audited_and_published(risk_any_db: RiskHarness) -> None:
    h = risk_any_db
    await h.call("PUT", "/api/v1/risk/rules", json={"rules": RULES})
    trader = h.user(org="org_a")
    h.state.realtime.apply_position(_position(trader, "acc_k", "1"))
    r = await h.call(
        "POST", "/api/v1/risk/kill-switch",
        json={"level": "account", "key": "acc_k", "reason": "runaway bot"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["kill_switches"][0]["key"] == "acc_k"
    order = {"account_id": "acc_k", "instrument": "BTC-USDT.binance", "side": "buy",
             "quantity": "1", "price": "100", "mark_price": "100"}  # fmt: skip
    d = (await h.call("POST", "/api/v1/risk/check", trader, json=order)).json()
    assert d["allowed"] is False
    assert d["code"] == "kill_switch"
    assert "runaway bot" in d["reason"]
    d = (await h.call("POST", "/api/v1/risk/check", trader, json={**order, "side": "sell"})).json()
    assert d["allowed"] is True  # closing the long still passes
    await h.until(lambda: len(h.topics("risk.alert.critical")) == 1)
    assert h.topics("risk.alert.critical")[0]["kind"] == "kill_switch"
    await h.state.protection.idle()
    cancels = [c for c in h.trading if c.path == "/api/v1/orders/cancel-all"]
    assert [c.body for c in cancels] == [{"account_id": "acc_k"}]
    assert cancels[0].principal.subject == trader.subject
    assert cancels[0].principal.org == "org_a"
    r = await h.call(
        "POST",
        "/api/v1/risk/kill-switch",
        json={"level": "account", "key": "acc_k", "engaged": False},
    )
    assert r.json()["kill_switches"] == []
    assert r.json()["rules"][0]["id"] == "qty"  # the rules were kept through both changes
    alerts = (await h.call("GET", "/api/v1/risk/alerts")).json()["items"]
    assert [a["kind"] for a in alerts] == ["kill_switch", "kill_switch"]
    assert (await h.call("POST", "/api/v1/risk/kill-switch", trader,
                         json={"level": "global"})).status_code == 403  # fmt: skip
    r = await h.call("POST", "/api/v1/risk/kill-switch", json={"level": "account"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "key"


def _position(who: Any, account: str, qty: str, price: str = "100") -> Any:
    from argosy.contracts.v1.events import PositionEvent

    return PositionEvent(
        org=who.org, user_id=who.subject.split(":", 1)[1], at_ms=1, account_id=account,
        instrument="BTC-USDT.binance", quantity=qty, average_entry=price, mark_price=price,
    )  # fmt: skip
