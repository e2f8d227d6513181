"""Risk and trading together, end to end through the running processes (`argosy run` with
config, market-data, users, trading and risk, and the embedded NATS).

Prices come from the real recording of Binance spot BTCUSDT on 2024-08-08/09
(/work/shared/data): the recorded REST depth snapshot and the recorded trade stream are
published on the platform's own bus exactly as the market-data service publishes them
(`md.book.*` book snapshots, `md.trade.*` trade batches), in recorded order. Driving the
frames from the test decides *when* the recorded market falls (the recording drifts from
61837 down to 61556), so the breach and the stop are reached at a known point; the
market-data service still runs over the same recordings (slowed right down) because the
trading service takes its instruments from it.

Covered: rules reach the trading engine over the bus within seconds (and the dry run
agrees); a daily-loss or a drawdown breach cancels the account's orders and flattens it
exactly once with a `risk.alert.critical`; a manual kill switch cancels through the real
trading API and its release lets orders through again; a server-side stop survives kill -9
of trading and of risk and still fires when the recorded price crosses it. Every wait
polls a condition with a generous deadline (two shared cores): nothing is asserted from a
sleep.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.test_risk_trading_stack import ADMIN, SPOT, Stack, stack, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
__all__ = ["stack"]  # the module's fixture, shared from the stack module


# -- the tests -------------------------------------------------------------------------
def _filled(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "filled", r.text
    return dict(r.json())


def _closes(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The risk service's closing orders (its derived client order ids; reduce-only only
    on perpetuals, which the trading API requires)."""
    return [o for o in orders if o["client_order_id"].startswith("rk-")]


def test_rules_reach_trading_within_seconds_and_the_dry_run_agrees(stack: Stack) -> None:
    me, account = stack.trader("rules")
    stack.market.send_book()
    big = {"side": "buy", "type": "limit", "price": "30000", "quantity": "0.004"}  # 120 USDT
    r = stack.order(me, **big)
    assert r.status_code == 201, r.text  # no rule yet: it rests far below the market
    rule_id = f"notional-{account}"
    put_at = time.monotonic()
    stack.put_rules([{"id": rule_id, "kind": "max_order_notional", "limit": "100",
                      "scope": {"account_id": account}}])

    def rejected() -> httpx.Response | None:
        r = stack.order(me, **big)
        if r.status_code == 201:  # the new rules are not in force yet: withdraw, try again
            stack.call(me, "DELETE", "trading", f"/api/v1/orders/{r.json()['id']}")
            return None
        return r

    r = until(rejected, 30, "an order above the new limit refused")
    took_s = time.monotonic() - put_at
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "pre_trade_rejected"
    assert rule_id in error["message"]
    assert took_s < 5.0, f"the rule took {took_s:.2f}s to reach the trading engine"
    print(f"rule change in force in trading after {took_s:.2f}s")
    small = stack.order(me, **{**big, "quantity": "0.003"})  # 90 USDT: within the limit
    assert small.status_code == 201, small.text

    order = {"account_id": account, "instrument": SPOT, "side": "buy", "price": "30000"}
    check = stack.call(me, "POST", "risk", "/api/v1/risk/check",
                       json={**order, "quantity": "0.004"}).json()
    assert (check["allowed"], check["rule_id"]) == (False, rule_id)
    check = stack.call(me, "POST", "risk", "/api/v1/risk/check",
                       json={**order, "quantity": "0.003"}).json()
    assert check["allowed"] is True
    assert rule_id in check["evaluated"]


@pytest.mark.parametrize(("kind", "limit"), [
    ("daily_loss_limit", "1.5"),  # USDT lost today
    ("max_drawdown", "0.00015"),  # of the 10 000 USDT peak: 1.5 USDT
])
def test_breach_cancels_and_flattens_exactly_once(stack: Stack, kind: str, limit: str) -> None:
    me, account = stack.trader(f"breach-{kind}")
    m = stack.market
    m.play(0, lambda: True)  # the opening of the recording: ~61837
    resting = stack.order(me, side="buy", type="limit", price="50000", quantity="0.002")
    assert resting.status_code == 201, resting.text
    bought = _filled(stack.order(me, side="buy", type="market", quantity="0.01"))
    until(lambda: stack.risk_sees(me, account, Decimal("0.01")), what="risk saw the fill")
    stack.put_rules([{"id": f"{kind}-{account}", "kind": kind, "limit": limit,
                      "scope": {"account_id": account}}])

    # the recorded market falls; ~90 USDT below the entry (fees included) the loss of
    # 0.01 BTC passes 1.5 USDT
    try:
        _, row = m.play(40, lambda: stack.position(me) == 0)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.logs()}") from None
    assert m.price(row) < Decimal(bought["average_price"])

    orders = stack.orders(me)
    [cancelled] = [o for o in orders if o["id"] == resting.json()["id"]]
    assert cancelled["status"] == "cancelled"
    [close] = _closes(orders)
    assert (close["side"], close["type"], close["status"]) == ("sell", "market", "filled")
    assert Decimal(close["filled_quantity"]) == Decimal("0.01")
    rules = stack.call(ADMIN, "GET", "risk", "/api/v1/risk/rules").json()
    assert ("account", account) in [(k["level"], k["key"]) for k in rules["kill_switches"]]
    [alert] = until(lambda: stack.tap.alerts("critical", account), 30, "risk.alert.critical")
    assert alert["kind"] == kind
    refused = stack.order(me, side="buy", type="market", quantity="0.001")
    assert refused.status_code == 422, refused.text
    assert "kill switch" in refused.json()["error"]["message"]

    # exactly once: the loss stays beyond the limit while the market keeps moving
    batches = iter(range(40))
    m.play(row, lambda: next(batches) >= 39)
    assert len(_closes(stack.orders(me))) == 1
    assert len(stack.tap.alerts("critical", account)) == 1
    assert stack.position(me) == 0


def test_manual_kill_switch_cancels_through_trading(stack: Stack) -> None:
    me, _ = stack.trader("kill")
    stack.market.send_book()
    resting = stack.order(me, side="buy", type="limit", price="50000", quantity="0.001")
    assert resting.status_code == 201, resting.text
    user_id = me.subject.removeprefix("user:")
    switch = {"level": "user", "key": user_id, "reason": "e2e: operator stop"}
    r = stack.call(ADMIN, "POST", "risk", "/api/v1/risk/kill-switch", json=switch)
    assert r.status_code == 200, r.text

    def cancelled() -> bool:
        [o] = [o for o in stack.orders(me) if o["id"] == resting.json()["id"]]
        return bool(o["status"] == "cancelled")

    until(cancelled, what="the open order cancelled by the kill switch")
    refused = until(lambda: (r := stack.order(me, side="buy", type="limit", price="50000",
                                                quantity="0.001")).status_code == 422 and r,
                     30, "new orders refused")
    assert "kill switch" in refused.json()["error"]["message"]
    r = stack.call(ADMIN, "POST", "risk", "/api/v1/risk/kill-switch",
                   json={**switch, "engaged": False})
    assert r.status_code == 200, r.text
    again = until(lambda: (r := stack.order(me, side="buy", type="limit", price="50000",
                                              quantity="0.001")).status_code == 201 and r,
                   30, "orders accepted again after the release")
    assert again.json()["status"] == "accepted"


def test_stop_survives_kill9_of_trading_and_risk_and_fires(stack: Stack) -> None:
    me, account = stack.trader("stop")
    m = stack.market
    m.play(0, lambda: True)  # the opening of the recording again: ~61837
    _filled(stack.order(me, side="buy", type="market", quantity="0.002"))
    until(lambda: stack.risk_sees(me, account, Decimal("0.002")), what="risk saw the fill")
    level = Decimal("61700")  # the recording passes below it about four minutes in
    r = stack.call(me, "POST", "risk", "/api/v1/risk/stops",
                   json={"account_id": account, "instrument": SPOT, "stop_loss": str(level)})
    assert r.status_code == 201, r.text
    stop_id = r.json()["stop_id"]

    stack.kill9("trading")
    stack.kill9("risk")

    def stop() -> dict[str, Any]:
        items = stack.call(me, "GET", "risk", "/api/v1/risk/stops").json()["items"]
        [found] = [s for s in items if s["stop_id"] == stop_id]
        return dict(found)

    assert until(lambda: stop()["status"] == "active", what="the stop back after restarts")
    assert until(lambda: stack.position(me) == Decimal("0.002") or None,
                  what="trading recovered the position")
    try:
        _, row = m.play(40, lambda: stack.position(me) == 0, batch=80)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.logs()}") from None
    assert min(Decimal(t["price"]) for t in m.trades[:row]) <= level
    fired = until(lambda: (s := stop())["status"] == "triggered" and s, 30, "stop triggered")
    assert fired["triggered_at_ms"] is not None
    [close] = _closes(stack.orders(me))
    assert (close["side"], close["status"], close["quantity"]) == ("sell", "filled", "0.002")
    [alert] = until(lambda: stack.tap.alerts("warning", account), 30, "risk.alert.warning")
    assert alert["kind"] == "stop_triggered"
    assert alert["message"].startswith("stop_loss on BTC-USDT.binance at mark ")
    assert Decimal(alert["message"].rsplit(" ", 1)[1]) <= level  # a recorded price did it
