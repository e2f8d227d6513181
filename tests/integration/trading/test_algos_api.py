"""Execution algorithms through the trading API, on SQLite and PostgreSQL, with the real
paper venue matching children against a recorded Binance BTCUSDT book: children are
ordinary orders (same checks, fills, ledger), the parent ties out with them, and a parent
survives a restart of the service."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest

from argosy.contracts.topics import market
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side, TradeTick, to_dict
from argosy.kernel.money import Price, Quantity
from argosy.platform.settings import PlatformSettings
from argosy.services.trading.models import AlgoRow
from tests.integration.trading._harness import (
    Person,
    TradingHarness,
    fast_settings,
    running,
)
from tests.integration.trading._market import SPOT, book_of
from tests.support.servers import SHARED_DATA

pytestmark = pytest.mark.integration

FAST = {"algo_tick_s": 0.05}


async def algo(h: TradingHarness, who: Person, expect: int = 201, **body: Any
               ) -> dict[str, Any]:
    r = await h.call("POST", "/api/v1/algos", who, json=body)
    assert r.status_code == expect, r.text
    return dict(r.json())


async def get(h: TradingHarness, who: Person, algo_id: str) -> dict[str, Any]:
    r = await h.call("GET", f"/api/v1/algos/{algo_id}", who)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def wait_status(h: TradingHarness, who: Person, algo_id: str, status: str,
                      within_s: float = 15.0) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def done() -> bool:
        seen.update(await get(h, who, algo_id))
        return bool(seen["status"] == status)

    await h.wait_for(done, within_s)
    return seen


async def tie_out(h: TradingHarness, who: Person, body: dict[str, Any]) -> None:
    """Parent filled == sum of its child orders' fills == the fills table; the average
    price is the fills' VWAP."""
    rows = await h.sql("SELECT o.id, o.client_order_id, o.filled_quantity, o.status "
                       "FROM orders o WHERE o.parent_algo_id=:a", a=body["algo_id"])
    assert {r[1] for r in rows} == {c["child_id"] for c in body["children"]}
    fills = await h.sql("SELECT f.price, f.quantity FROM fills f JOIN orders o ON "
                        "o.id=f.order_id WHERE o.parent_algo_id=:a", a=body["algo_id"])
    filled = sum((Decimal(q) for _, q in fills), Decimal(0))
    assert filled == sum((Decimal(r[2]) for r in rows), Decimal(0))
    assert filled == Decimal(body["filled_quantity"])
    if filled:
        vwap = sum((Decimal(p) * Decimal(q) for p, q in fills), Decimal(0)) / filled
        assert abs(vwap - Decimal(body["average_price"])) < Decimal("1e-9")
    for child in body["children"]:
        match = next(r for r in rows if r[1] == child["child_id"])
        assert child["order_id"] == match[0]
        assert Decimal(child["filled"]) == Decimal(match[2])
        if match[3] in ("filled", "cancelled", "rejected", "expired"):
            assert child["status"] == match[3], (child, match)


TWAP: dict[str, Any] = {"type": "twap", "instrument": SPOT, "side": "buy",
                        "quantity": "0.004", "params": {"duration_s": 1, "slices": 4}}


async def test_twap_completes_and_ties_out(any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person()
        created = await algo(h, who, **TWAP)
        assert created["kind"] == "twap"
        assert created["status"] == "running"
        body = await wait_status(h, who, created["algo_id"], "completed")
        assert Decimal(body["filled_quantity"]) == Decimal("0.004")
        assert body["open_quantity"] == "0"
        assert len(body["children"]) >= 4
        await tie_out(h, who, body)
        balances = await h.balances(who)
        assert balances["BTC"] == Decimal("0.004")
        r = await h.call("GET", "/api/v1/orders", who)
        orders = r.json()["items"]
        assert len(orders) == len(body["children"])
        assert {o["parent_algo_id"] for o in orders} == {body["algo_id"]}


async def test_pause_resume_cancel(any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person()
        body = {**TWAP, "params": {"duration_s": 2, "slices": 4}}
        created = await algo(h, who, **body)
        aid = created["algo_id"]
        r = await h.call("POST", f"/api/v1/algos/{aid}/pause", who)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "paused"
        again = await h.call("POST", f"/api/v1/algos/{aid}/pause", who)
        assert again.status_code == 409
        assert again.json()["error"]["field"] == "status"
        children = len(r.json()["children"])
        await asyncio.sleep(1.2)  # two more slices fall due while paused: none is sent
        assert len((await get(h, who, aid))["children"]) == children
        r = await h.call("POST", f"/api/v1/algos/{aid}/resume", who)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "running"
        assert r.json()["end_ns"] > created["end_ns"]  # the schedule moved by the pause
        r = await h.call("DELETE", f"/api/v1/algos/{aid}", who)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        assert (await h.call("DELETE", f"/api/v1/algos/{aid}", who)).status_code == 200
        r = await h.call("POST", f"/api/v1/algos/{aid}/resume", who)
        assert r.status_code == 409
        open_children = await h.sql(
            "SELECT count(*) FROM orders WHERE parent_algo_id=:a AND status IN "
            "('new','submitted','accepted','partially_filled')", a=aid)
        assert open_children[0][0] == 0
        await tie_out(h, who, await get(h, who, aid))


async def test_algo_resumes_after_restart(any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person()
        created = await algo(h, who, **{**TWAP, "params": {"duration_s": 3, "slices": 3}})
        aid = created["algo_id"]
        assert created["status"] == "running"
        assert Decimal(created["filled_quantity"]) < Decimal("0.004")
    async with running(any_platform, fast_settings(**FAST)) as h:
        body = await wait_status(h, who, aid, "completed")
        assert Decimal(body["filled_quantity"]) == Decimal("0.004")
        await tie_out(h, who, body)
        assert (await h.balances(who))["BTC"] == Decimal("0.004")


async def test_sor_explains_its_plan_and_splits_across_accounts(
        any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person()
        single = await algo(h, who, type="sor", instrument=SPOT, side="buy", quantity="0.01")
        plan = single["plan"]
        assert plan["routed"] == "0.01"
        assert plan["allocations"][0]["venue"] == who.account
        assert plan["allocations"][0]["reason"]
        assert any("one candidate account" in n for n in plan["notes"])
        done = await wait_status(h, who, single["algo_id"], "completed")
        await tie_out(h, who, done)
        # same book on both accounts of one user, but the first cannot pay for it all:
        # the plan takes what its balance allows there and the rest on the second
        poor = await h.person(balance="200")
        rich = f"{poor.account}b"
        await h.state.intake.open(account_id=rich, org=poor.org, user_id=poor.id,
                                  kind="paper", venue=None, currency="USDT",
                                  starting_balance="10000")
        split = await algo(h, poor, type="sor", instrument=SPOT, side="buy", quantity="0.01",
                           account_ids=[poor.account, rich])
        venues = {a["venue"]: Decimal(a["quantity"]) for a in split["plan"]["allocations"]}
        assert set(venues) == {poor.account, rich}, split["plan"]
        assert sum(venues.values()) == Decimal("0.01")
        done = await wait_status(h, poor, split["algo_id"], "completed")
        assert {c["account_id"] for c in done["children"]} == {poor.account, rich}
        assert Decimal(done["filled_quantity"]) == Decimal("0.01")


async def test_bad_input_and_tenancy(any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        who, other = await h.person(), await h.person()
        cases: list[tuple[dict[str, Any], str]] = [
            ({**TWAP, "params": {"slices": 4}}, "params.duration_s"),
            ({**TWAP, "params": {"duration_s": 10, "slices": 0}}, "params.slices"),
            ({**TWAP, "params": {"duration_s": 10, "bogus": 1}}, "params.bogus"),
            ({**TWAP, "quantity": "lots"}, "quantity"),
            ({**TWAP, "quantity": "0.0000001"}, "quantity"),
            ({"type": "iceberg", "instrument": SPOT, "side": "buy", "quantity": "0.01",
              "params": {"show_quantity": "0.002"}}, "limit_price"),
            ({"type": "pov", "instrument": SPOT, "side": "buy", "quantity": "0.01",
              "params": {"rate": "0.9", "min_child": "0.001"}}, "params.rate"),
            ({**TWAP, "instrument": "NOPE-USDT.binance"}, "instrument"),
        ]
        for body, field in cases:
            r = await h.call("POST", "/api/v1/algos", who, json=body)
            assert 400 <= r.status_code < 500, (body, r.text)
            assert r.json()["error"]["field"] == field, (body, r.text)
        r = await h.call("POST", "/api/v1/algos", who, json={**TWAP, "type": "magic"})
        assert r.status_code == 422
        mine = await algo(h, who, **{**TWAP, "params": {"duration_s": 30, "slices": 3}})
        for method, path in (("GET", ""), ("DELETE", ""), ("POST", "/pause")):
            r = await h.call(method, f"/api/v1/algos/{mine['algo_id']}{path}", other)
            assert r.status_code == 404, r.text
        assert (await get(h, who, mine["algo_id"]))["status"] == "running"
        listed = await h.call("GET", "/api/v1/algos", other)
        assert listed.json()["items"] == []
        await h.call("DELETE", f"/api/v1/algos/{mine['algo_id']}", who)


async def test_vwap_needs_market_data(any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person()
        r = await h.call("POST", "/api/v1/algos", who, json={**TWAP, "type": "vwap"})
        assert r.status_code == 503, r.text
        assert "market-data" in r.json()["error"]["message"]


async def recorded_candles(instrument: str, interval: str, start_ns: int
                           ) -> Sequence[Mapping[str, Any]]:
    """Recorded Binance 5m klines (XRPUSDT perpetual, about a week) in the candles API's
    shape: the only multi-day 5m history with volume in /work/shared/data. A profile is a
    time-of-day shape, so another instrument's history still exercises the whole path."""
    assert interval == "5m"
    with (SHARED_DATA / "ohlcv" / "binance_usdm_XRPUSDT_5m.csv").open() as fh:
        return [{"ts_open_ns": int(r["open_time_ms"]) * 1_000_000, "volume": r["volume"]}
                for r in csv.DictReader(fh)]


async def test_vwap_with_a_profile_from_candles(any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        h.state.algos.candles = recorded_candles
        who = await h.person()
        created = await algo(h, who, **{**TWAP, "type": "vwap", "params": {
            "duration_s": 1, "slices": 4, "profile_interval": "5m", "profile_days": 7}})
        body = await wait_status(h, who, created["algo_id"], "completed")
        assert Decimal(body["filled_quantity"]) == Decimal("0.004")
        await tie_out(h, who, body)
        params = await h.sql("SELECT params FROM algos WHERE id=:a", a=created["algo_id"])
        raw = params[0][0]
        stored = raw if isinstance(raw, dict) else json.loads(raw)
        assert stored["profile"]["days"] >= 6
        assert len(stored["profile"]["shares"]) == 288
        shares = sum((Decimal(x) for x in stored["profile"]["shares"]), Decimal(0))
        assert abs(shares - 1) < Decimal("1e-9")


def recorded_trades(total: Decimal) -> list[TradeTick]:
    """The first recorded Binance BTCUSDT trades adding up to `total`."""
    out: list[TradeTick] = []
    seen = Decimal(0)
    with (SHARED_DATA / "trades" / "binance_spot_BTCUSDT_trades.csv").open() as fh:
        for r in csv.DictReader(fh):
            out.append(TradeTick(
                InstrumentId.parse(SPOT), Price(r["price"]), Quantity(r["qty"]),
                Side.SELL if r["is_buyer_maker"] == "true" else Side.BUY, r["trade_id"],
                int(r["ts_ms"]) * 1_000_000, int(r["recv_ts_ns"])))
            seen += Decimal(r["qty"])
            if seen >= total:
                return out
    return out


async def test_pov_follows_traded_volume(any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person()
        created = await algo(h, who, type="pov", instrument=SPOT, side="buy",
                             quantity="0.003", params={"rate": "0.1", "min_child": "0.001"})
        assert created["children"] == []  # nothing traded yet: nothing to follow
        trades = recorded_trades(Decimal("0.05"))
        await h.state.runtime.bus.publish_json(market("trade", SPOT), {
            "type": "trades", "items": [to_dict(t) for t in trades]})
        body = await wait_status(h, who, created["algo_id"], "completed")
        assert Decimal(body["filled_quantity"]) == Decimal("0.003")
        await tie_out(h, who, body)


async def test_iceberg_shows_one_piece_at_a_time(any_platform: PlatformSettings) -> None:
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person()
        ask = book_of(SPOT)["asks"][0][0]  # marketable: each piece fills on arrival
        created = await algo(h, who, type="iceberg", instrument=SPOT, side="buy",
                             quantity="0.003", limit_price=ask,
                             params={"show_quantity": "0.001"})
        body = await wait_status(h, who, created["algo_id"], "completed")
        assert [Decimal(c["quantity"]) for c in body["children"]] == [Decimal("0.001")] * 3
        await tie_out(h, who, body)


async def test_children_take_the_order_checks(any_platform: PlatformSettings) -> None:
    """A child the balance check refuses is never stored and counts as a rejection: three
    in a row fail the parent, with the check's reason."""
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person(balance="50")  # one 0.001 BTC slice costs about 62 USDT
        created = await algo(h, who, **TWAP)
        body = await wait_status(h, who, created["algo_id"], "failed")
        assert "insufficient_balance" in body["reason"], body["reason"]
        assert [c["status"] for c in body["children"]] == ["rejected"] * 3
        assert all(c["order_id"] is None for c in body["children"])
        assert await h.sql("SELECT id FROM orders WHERE account_id=:a", a=who.account) == []


async def test_a_child_lost_in_a_crash_window_is_rejected(
        any_platform: PlatformSettings) -> None:
    """The checkpoint names a child that no order row holds (the crash window between a
    SOR plan's children): the next drive reports it rejected, and the parent carries on
    without counting anything for it."""
    async with running(any_platform, fast_settings(**FAST)) as h:
        who = await h.person()
        created = await algo(h, who, **{**TWAP, "params": {"duration_s": 30, "slices": 3}})
        aid = created["algo_id"]
        driver, db = h.state.algos.driver, h.state.trading.db
        # the runner stays out while the crash is staged
        async with driver._locks[aid], db.transaction() as s:
            row = await s.get(AlgoRow, aid)
            state = dict(row.state)
            state["children"] = [*state["children"], {
                "child_id": f"{aid}-99", "quantity": "0.001", "price": None,
                "sent_ns": 1, "status": "submitted", "filled": "0", "notional": "0",
                "cancel_requested": False}]
            state["seq"] = 99
            row.state = state
        driver._wake.pop(aid, None)  # as after a restart: drive it at the next tick
        seen: dict[str, Any] = {}

        async def rejected() -> bool:
            seen.update(await get(h, who, aid))
            return any(c["child_id"] == f"{aid}-99" and c["status"] == "rejected"
                       for c in seen["children"])

        await h.wait_for(rejected, 10)
        assert seen["status"] == "running", seen
        assert seen["open_quantity"] == "0", seen
        assert Decimal(seen["filled_quantity"]) == Decimal(created["filled_quantity"])
        await h.call("DELETE", f"/api/v1/algos/{aid}", who)
