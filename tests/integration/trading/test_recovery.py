"""Durability, unknown outcomes, restart and reconciliation, on SQLite and PostgreSQL.

The venue is the real paper venue; `Faults` only breaks the wire between the two."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.orders import OrderRequest
from argosy.platform.settings import PlatformSettings
from tests.integration.trading._harness import Person, TradingHarness, running
from tests.integration.trading._market import SPOT
from tests.integration.trading._venues import Faults, faulty_paper

pytestmark = pytest.mark.integration

LIMIT: dict[str, Any] = {"instrument": SPOT, "side": "buy", "type": "limit", "quantity": "0.001",
         "price": "60000"}


async def statuses(h: TradingHarness, order_id: str) -> list[str]:
    rows = await h.sql("SELECT to_status FROM order_transitions WHERE order_id=:o ORDER BY id",
                       o=order_id)
    return [r[0] for r in rows]


async def tie_out(h: TradingHarness, who: Person) -> None:
    """fills == position changes == balance changes, to the last decimal."""
    fills = await h.sql("SELECT side, price, quantity, fee, instrument FROM fills "
                        "WHERE account_id=:a", a=who.account)
    signed = sum((Decimal(q) if s == "buy" else -Decimal(q) for s, _, q, _, _ in fills),
                 Decimal(0))
    cash = sum((-(Decimal(p) * Decimal(q)) if s == "buy" else Decimal(p) * Decimal(q)
                for s, p, q, _, _ in fills), Decimal(0))
    fees = sum((Decimal(f) for _, _, _, f, _ in fills), Decimal(0))
    pos = await h.sql("SELECT quantity FROM positions WHERE account_id=:a AND instrument=:i",
                      a=who.account, i=SPOT)
    assert (Decimal(pos[0][0]) if pos else Decimal(0)) == signed
    balances = await h.balances(who)
    assert balances.get("BTC", Decimal(0)) == signed
    assert balances["USDT"] == Decimal(10000) + cash - fees
    for asset, total in balances.items():
        entries = await h.sql("SELECT delta FROM balance_entries WHERE account_id=:a AND "
                              "asset=:s", a=who.account, s=asset)
        assert sum((Decimal(e[0]) for e in entries), Decimal(0)) == total


async def test_order_is_durable_before_it_leaves(any_platform: PlatformSettings) -> None:
    faults = Faults()
    async with running(any_platform, paper=faulty_paper(faults)) as h:
        seen: list[tuple[str, str]] = []

        async def check(order: OrderRequest) -> None:
            rows = await h.sql("SELECT status FROM orders WHERE id=:i", i=order.client_order_id)
            seen.append((order.client_order_id, rows[0][0]))

        faults.on_submit = check
        who = await h.person()
        out = await h.order(who, **LIMIT)
        assert seen == [(out["id"], "submitted")]
        assert await statuses(h, out["id"]) == ["new", "submitted", "accepted"]


async def test_lost_answer_is_unknown_then_resolved(any_platform: PlatformSettings) -> None:
    faults = Faults(lose_answers=1, hide_queries=2, mute_stream=True)
    async with running(any_platform, paper=faulty_paper(faults)) as h:
        who = await h.person()
        out = await h.order(who, **LIMIT)
        assert out["status"] == "submitted_unknown"

        async def accepted() -> bool:
            r = await h.call("GET", f"/api/v1/orders/{out['id']}", who)
            return bool(r.json()["status"] == "accepted")

        await h.wait_for(accepted, 5)  # two misses are not proof: the order is found
        assert await statuses(h, out["id"]) == ["new", "submitted", "submitted_unknown",
                                                "accepted"]


async def test_never_arrived_is_rejected_only_after_repeated_misses(
        any_platform: PlatformSettings) -> None:
    faults = Faults(drop_sends=1)
    async with running(any_platform, paper=faulty_paper(faults)) as h:
        who = await h.person()
        out = await h.order(who, **LIMIT)
        assert out["status"] == "submitted_unknown"

        async def rejected() -> bool:
            rows = await h.sql("SELECT status, misses FROM orders WHERE id=:i", i=out["id"])
            return bool(rows[0][0] == "rejected")

        await h.wait_for(rejected, 5)
        rows = await h.sql("SELECT misses, reason FROM orders WHERE id=:i", i=out["id"])
        assert rows[0][0] >= 3
        assert "not found at the venue" in rows[0][1]


async def test_retryable_refusal_is_retried(any_platform: PlatformSettings) -> None:
    faults = Faults(refuse_sends=2)
    async with running(any_platform, paper=faulty_paper(faults)) as h:
        who = await h.person()
        assert (await h.order(who, **LIMIT))["status"] == "accepted"


async def test_restart_reconciles_without_new_orders_or_events(
        any_platform: PlatformSettings) -> None:
    async with running(any_platform) as h:
        who = await h.person()
        filled = await h.order(who, instrument=SPOT, side="buy", type="market",
                               quantity="0.002", client_order_id="a")
        resting = await h.order(who, **LIMIT, client_order_id="b")
        before = await h.sql("SELECT id, status, filled_quantity FROM orders ORDER BY id")
        fills_before = await h.sql("SELECT count(*) FROM fills")
    async with running(any_platform) as h:  # a fresh paper venue: re-seeded, reconciled
        after = await h.sql("SELECT id, status, filled_quantity FROM orders ORDER BY id")
        assert [tuple(r) for r in after] == [tuple(r) for r in before]
        assert await h.sql("SELECT count(*) FROM fills") == fills_before
        assert filled["status"] == "filled"
        assert resting["status"] == "accepted"
        await tie_out(h, who)
        events = await h.outbox_count()
        async with h.state.trading.db.read() as s:
            acc = await h.state.trading.store.account(s, who.account)
        await h.state.reconciler.reconcile(acc)
        await h.state.reconciler.reconcile(acc)
        assert await h.outbox_count() == events  # twice: nothing new
        # the re-seeded order is live at the venue: the cancel goes through it
        r = await h.call("DELETE", f"/api/v1/orders/{resting['id']}", who)
        assert r.json()["status"] == "cancelled"
        # a fill after the restart is booked too (the fresh venue's ids never repeat)
        more = await h.order(who, instrument=SPOT, side="buy", type="market",
                             quantity="0.002", client_order_id="c")
        assert more["status"] == "filled"
        assert (await h.sql("SELECT count(*) FROM fills WHERE order_id=:o",
                            o=more["id"]))[0][0] >= 1
        await tie_out(h, who)


async def test_reconciliation_is_fail_closed(any_platform: PlatformSettings) -> None:
    async with running(any_platform) as h:
        who = await h.person()
        resting = await h.order(who, **LIMIT)
    faults = Faults(fail_queries=True)
    async with running(any_platform, paper=faulty_paper(faults), wait_recovered=False) as h:
        await h.wait_for(lambda: bool(h.state.reconciler.errors), 5)
        r = await h.call("POST", "/api/v1/orders", who, json={**LIMIT, "price": "59000"})
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "not_reconciled"
        r = await h.call("DELETE", f"/api/v1/orders/{resting['id']}", who)
        assert r.status_code == 200
        assert r.json()["status"] == "cancelled"
        assert (await h.sql("SELECT count(*) FROM orders"))[0][0] == 1
        faults.fail_queries = False
        await h.wait_for(lambda: h.state.reconciler.is_ready(who.account), 5)
        assert (await h.order(who, **{**LIMIT, "price": "59000"}))["status"] == "accepted"


async def test_events_leave_through_the_outbox(any_platform: PlatformSettings) -> None:
    async with running(any_platform) as h:
        who = await h.person()
        out = await h.order(who, instrument=SPOT, side="buy", type="market", quantity="0.001")
        await h.wait_for(lambda: any(e.topic == f"trading.fill.{who.account}"
                                     for e in h.published), 5)
        topics = {e.topic.rsplit(".", 1)[0] for e in h.published
                  if e.topic.endswith(who.account)}
        assert topics == {"trading.order", "trading.fill", "trading.position",
                          "trading.balance"}
        orders = [e.json() for e in h.published if e.topic == f"trading.order.{who.account}"]
        assert [o["status"] for o in orders if o["order_id"] == out["id"]][-1] == "filled"
        assert all(o["org"] == who.org and o["user_id"] == who.id for o in orders)
        await asyncio.sleep(0)


async def test_order_declared_gone_but_live_is_cancelled_at_the_venue(
        any_platform: PlatformSettings) -> None:
    """Misses were wrong (the venue had it all along): the next reconciliation finds it
    open there and cancels it, so an order closed here never trades."""
    faults = Faults(lose_answers=1, hide_queries=100, mute_stream=True)
    async with running(any_platform, paper=faulty_paper(faults)) as h:
        who = await h.person()
        out = await h.order(who, **LIMIT)

        async def rejected() -> bool:
            rows = await h.sql("SELECT status FROM orders WHERE id=:i", i=out["id"])
            return bool(rows[0][0] == "rejected")

        await h.wait_for(rejected, 5)
        venue = faults.venues[who.account]
        assert [r.client_order_id for r in await venue.inner.open_orders()] == [out["id"]]
        async with h.state.trading.db.read() as s:
            account = await h.state.trading.store.account(s, who.account)
        summary = await h.state.reconciler.reconcile(account)
        assert summary.changed == 1
        assert await venue.inner.open_orders() == []
