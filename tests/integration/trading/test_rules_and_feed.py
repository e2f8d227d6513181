"""The pre-trade seam with the risk service's rules (delivered on `risk.rules.changed`,
evaluated by the kernel engine), accounts and market data arriving over the bus, and
amend / cancel-all."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from argosy.contracts.topics import RISK_RULES_CHANGED, USERS_EVENTS, market
from argosy.contracts.v1.market_data import book_snapshot_payload
from tests.integration.trading._harness import Person, TradingHarness
from tests.integration.trading._market import SPOT, book_of

pytestmark = pytest.mark.integration

LIMIT: dict[str, Any] = {"instrument": SPOT, "side": "buy", "type": "limit", "quantity": "0.002",
         "price": "60000"}


def rules_event(version: int, rules: list[dict[str, object]],
                switches: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"version": version, "at_ms": int(time.time() * 1000), "reason": "rules",
            "ruleset": {"version": version, "rules": rules, "kill_switches": switches or []}}


async def test_risk_rules_reject_with_rule_and_reason(trading: TradingHarness) -> None:
    who = await trading.person()
    bus = trading.state.runtime.bus
    await bus.publish_json(RISK_RULES_CHANGED, rules_event(3, [
        {"id": "max-qty", "kind": "max_order_quantity", "limit": "0.001",
         "scope": {"instrument": SPOT}}]))
    await trading.wait_for(lambda: trading.state.rules.version == 3, 5)
    r = await trading.call("POST", "/api/v1/orders", who, json=LIMIT)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "pre_trade_rejected"
    assert "max-qty" in error["message"]
    assert (await trading.sql("SELECT count(*) FROM orders"))[0][0] == 0
    assert (await trading.order(who, **{**LIMIT, "quantity": "0.001"}))["status"] == "accepted"
    await bus.publish_json(RISK_RULES_CHANGED, rules_event(2, []))  # older: ignored
    await bus.publish_json(RISK_RULES_CHANGED, rules_event(
        4, [], [{"level": "account", "key": who.account, "reason": "drill"}]))
    await trading.wait_for(lambda: trading.state.rules.version == 4, 5)
    r = await trading.call("POST", "/api/v1/orders", who, json={**LIMIT, "quantity": "0.001"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "pre_trade_rejected"


async def test_account_opened_from_the_users_event(trading: TradingHarness) -> None:
    bus = trading.state.runtime.bus
    who = Person("usr_bus1", "org_bus1", "acc_bus1")
    payload = {"at_ms": 1, "account_id": who.account, "org": who.org, "user_id": who.id,
               "parent_id": None, "name": "Paper", "kind": "paper", "venue": None,
               "currency": "USDT", "starting_balance": "2500.5"}
    for _ in range(2):  # at least once: the second delivery changes nothing
        await bus.publish_json(USERS_EVENTS["account_created"], payload)

    async def opened() -> bool:
        return (await trading.balances(who)).get("USDT") == Decimal("2500.5")

    await trading.wait_for(opened, 5)
    out = await trading.order(who, **{**LIMIT, "quantity": "0.001"})  # default account
    assert out["account_id"] == who.account


async def test_book_from_the_bus_feeds_marks(trading: TradingHarness) -> None:
    book = book_of(SPOT, depth=5)
    await trading.state.runtime.bus.publish_json(market("book", SPOT), book_snapshot_payload(
        SPOT, book["sequence"], book["ts_ns"], book["bids"], book["asks"]))
    best = (Decimal(book["bids"][0][0]) + Decimal(book["asks"][0][0])) / 2
    await trading.wait_for(lambda: trading.state.trading.marks.mark(SPOT) == best, 5)


async def test_amend_and_cancel_all(trading: TradingHarness) -> None:
    who = await trading.person()
    first = await trading.order(who, **LIMIT, client_order_id="am")
    r = await trading.call("PATCH", f"/api/v1/orders/{first['id']}", who,
                           json={"price": "60100"})
    assert r.status_code == 200, r.text
    amended = r.json()
    assert amended["price"] == "60100"
    assert amended["client_order_id"] == "am:a1"
    assert amended["status"] == "accepted"
    old = (await trading.call("GET", f"/api/v1/orders/{first['id']}", who)).json()
    assert old["status"] == "cancelled"
    await trading.order(who, **{**LIMIT, "price": "59000"})
    r = await trading.call("POST", "/api/v1/orders/cancel-all", who, json={})
    assert r.status_code == 200
    assert len(r.json()["cancelled"]) == 2
    assert r.json()["pending"] == []
    left = (await trading.call("GET", "/api/v1/orders?status=open", who)).json()["items"]
    assert left == []


async def test_positions_are_marked_to_market(trading: TradingHarness) -> None:
    who = await trading.person()
    await trading.order(who, instrument=SPOT, side="buy", type="market", quantity="0.002")
    marking = trading.state.marking
    assert await marking.round() == 1
    assert await marking.round() == 0  # the mark did not move: nothing new
    trading.state.trading.marks.update(SPOT, bid=Decimal("62000"), ask=Decimal("62000.02"))
    assert await marking.round() == 1
    await trading.wait_for(lambda: any(
        e.topic == f"trading.position.{who.account}" and e.json()["mark_price"] == "62000.01"
        for e in trading.published), 5)
    [event] = [e.json() for e in trading.published if e.topic.startswith("trading.position")
               and e.json()["mark_price"] == "62000.01"]
    entry = Decimal(event["average_entry"])
    assert Decimal(event["unrealized_pnl"]) == Decimal("0.002") * (Decimal("62000.01") - entry)
