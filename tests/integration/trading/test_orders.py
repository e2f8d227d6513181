"""Placing orders on the paper venue over a recorded Binance book: fills, idempotency,
bad input, tenancy."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.trading._harness import TradingHarness
from tests.integration.trading._market import SPOT

pytestmark = pytest.mark.integration


async def test_market_buy_fills_against_the_recorded_book(trading: TradingHarness) -> None:
    who = await trading.person()
    out = await trading.order(who, instrument=SPOT, side="buy", type="market",
                              quantity="0.01", client_order_id="m1")
    assert out["status"] == "filled", out
    assert out["filled_quantity"] == "0.01"
    detail = (await trading.call("GET", f"/api/v1/orders/{out['id']}", who)).json()
    assert [t["to_status"] for t in detail["transitions"]] == [
        "new", "submitted", "filled"] or [t["to_status"] for t in detail["transitions"]] == [
        "new", "submitted", "accepted", "filled"]
    fills = (await trading.call("GET", "/api/v1/fills", who)).json()["items"]
    assert sum(Decimal(f["quantity"]) for f in fills) == Decimal("0.01")
    balances = await trading.balances(who)
    assert balances["BTC"] == Decimal("0.01")
    spent = sum(Decimal(f["price"]) * Decimal(f["quantity"]) + Decimal(f["fee"]) for f in fills)
    assert balances["USDT"] == Decimal(10000) - spent
    positions = (await trading.call("GET", "/api/v1/positions", who)).json()["items"]
    assert positions[0]["quantity"] == "0.01"
    assert positions[0]["mark_price"] is not None


async def test_limit_rests_then_cancel(trading: TradingHarness) -> None:
    who = await trading.person()
    out = await trading.order(who, instrument=SPOT, side="buy", type="limit",
                              quantity="0.001", price="60000")
    assert out["status"] == "accepted"
    bal = (await trading.call("GET", "/api/v1/balances", who)).json()["items"]
    usdt = next(b for b in bal if b["asset"] == "USDT")
    assert usdt["locked"] == "60"
    assert usdt["available"] == "9940"
    listed = (await trading.call("GET", "/api/v1/orders?status=open", who)).json()["items"]
    assert [o["id"] for o in listed] == [out["id"]]
    r = await trading.call("DELETE", f"/api/v1/orders/{out['id']}", who)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    r = await trading.call("DELETE", f"/api/v1/orders/{out['id']}", who)
    assert r.json()["status"] == "cancelled"  # idempotent


async def test_idempotent_client_order_id(trading: TradingHarness) -> None:
    who = await trading.person()
    body: dict[str, Any] = {"instrument": SPOT, "side": "buy", "type": "limit",
                            "quantity": "0.001", "price": "60000.00",
                            "client_order_id": "idem-1"}
    first = await trading.order(who, **body)
    again = await trading.order(who, expect=200, **{**body, "price": "60000"})
    assert again["id"] == first["id"]
    clash = await trading.order(who, expect=409, **{**body, "price": "60001"})
    assert clash["error"]["field"] == "client_order_id"
    rows = await trading.sql("SELECT count(*) FROM orders WHERE client_order_id='idem-1'")
    assert rows[0][0] == 1
    same = await asyncio.gather(*(trading.call("POST", "/api/v1/orders", who, json={
        **body, "client_order_id": "idem-2"}) for _ in range(5)))
    assert {r.status_code for r in same} <= {200, 201}
    assert len({r.json()["id"] for r in same}) == 1


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"price": "60000.001"}, "price", "off_tick"),
    ({"quantity": "0.0000101"}, "quantity", "off_lot"),
    ({"quantity": "0.00001"}, "quantity", "below_min_notional"),
    ({"instrument": "DOGE-USDT.binance"}, "instrument", "unknown_instrument"),
    ({"quantity": "1"}, "quantity", "insufficient_balance"),
    ({"side": "sell"}, "quantity", "insufficient_balance"),
    ({"reduce_only": True}, "reduce_only", "invalid"),
    ({"type": "stop_limit"}, "stop_price", "invalid"),
    ({"quantity": "abc"}, "quantity", "invalid"),
])
async def test_bad_input_is_refused_and_not_stored(trading: TradingHarness, body: dict[str, str],
                                                   field: str, code: str) -> None:
    who = await trading.person()
    order = {"instrument": SPOT, "side": "buy", "type": "limit", "quantity": "0.001",
             "price": "60000", **body}
    r = await trading.call("POST", "/api/v1/orders", who, json=order)
    assert 400 <= r.status_code < 500, r.text
    error = r.json()["error"]
    assert (error["field"], error["code"]) == (field, code), error
    assert (await trading.sql("SELECT count(*) FROM orders"))[0][0] == 0


async def test_reduce_only_on_perp(trading: TradingHarness) -> None:
    who = await trading.person()
    perp = "BTC-USDT-PERP.binance"
    r = await trading.call("POST", "/api/v1/orders", who, json={
        "instrument": perp, "side": "sell", "type": "market", "quantity": "0.01",
        "reduce_only": True})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "reduce_only_increases"
    opened = await trading.order(who, instrument=perp, side="buy", type="market",
                                 quantity="0.01")
    assert opened["status"] == "filled"
    closed = await trading.order(who, instrument=perp, side="sell", type="market",
                                 quantity="0.01", reduce_only=True)
    assert closed["status"] == "filled"
    pos = (await trading.call("GET", "/api/v1/positions", who)).json()["items"]
    assert pos[0]["quantity"] == "0"
    async with trading.state.trading.db.read() as s:
        account = await trading.state.trading.store.account(s, who.account)
    summary = await trading.state.reconciler.reconcile(account)
    assert summary.balance_adjustments == 0  # realized PnL and fees == the venue's wallet


async def test_tenants_never_see_each_other(trading: TradingHarness) -> None:
    alice, bob = await trading.person(), await trading.person()
    out = await trading.order(alice, instrument=SPOT, side="buy", type="limit",
                              quantity="0.001", price="60000")
    assert (await trading.call("GET", f"/api/v1/orders/{out['id']}", bob)).status_code == 404
    assert (await trading.call("DELETE", f"/api/v1/orders/{out['id']}", bob)).status_code == 404
    for path in ("/api/v1/orders", "/api/v1/fills", "/api/v1/positions"):
        assert (await trading.call("GET", path, bob)).json()["items"] == []
    r = await trading.call("POST", "/api/v1/orders", bob, json={
        "instrument": SPOT, "side": "buy", "type": "limit", "quantity": "0.001",
        "price": "60000", "account_id": alice.account})
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "account_id"
    assert (await trading.client.get("/api/v1/orders")).status_code == 401


async def test_openapi_documents_the_api(trading: TradingHarness) -> None:
    spec = (await trading.client.get("/openapi.json")).json()
    for path in ("/api/v1/orders", "/api/v1/orders/{order_id}", "/api/v1/orders/cancel-all",
                 "/api/v1/fills", "/api/v1/positions", "/api/v1/balances"):
        assert path in spec["paths"], path
    assert "OrderIn" in spec["components"]["schemas"]
