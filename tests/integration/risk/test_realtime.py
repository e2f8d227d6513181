"""The real-time consumer through the bus: exposure, breach → cancel-all + flatten, stops
that survive a restart, reports in the object store."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from argosy.contracts.topics import market, trading
from argosy.platform.settings import PlatformSettings
from tests.integration.risk.conftest import RiskHarness, risk_settings, running

ORG, USER = "org_rt", "usr_rt"
BTC, ETH = "BTC-USDT.binance", "ETH-USDT.binance"
TRADER_PERMS = frozenset({"risk:read", "orders:read", "orders:write"})


def _who() -> Any:
    from argosy.platform.auth.internal import Principal

    return Principal(f"user:{USER}", TRADER_PERMS, ORG)


def position(account: str, instrument: str, qty: str, entry: str, at_ms: int, **kw: Any) -> dict:
    return {"org": ORG, "user_id": USER, "at_ms": at_ms, "account_id": account,
            "instrument": instrument, "quantity": qty, "average_entry": entry, **kw}  # fmt: skip


def fill(account: str, instrument: str, side: str, qty: str, price: str, n: int) -> dict:
    return {"org": ORG, "user_id": USER, "at_ms": n, "account_id": account, "order_id": f"o{n}",
            "fill_id": f"f{n}", "instrument": instrument, "side": side, "price": price,
            "quantity": qty, "fee": "0", "fee_asset": "USDT", "liquidity": "taker"}  # fmt: skip


def quote(instrument: str, bid: str, ask: str) -> dict:
    return {"type": "quote", "instrument_id": instrument, "bid_price": bid, "bid_qty": "1",
            "ask_price": ask, "ask_qty": "1", "ts_event_ns": 1, "ts_recv_ns": 1}  # fmt: skip


async def exposure(h: RiskHarness, **params: str) -> dict:
    r = await h.call("GET", "/api/v1/risk/exposure", _who(), params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_fills_positions_marks_make_exposure(risk_any_db: RiskHarness) -> None:
    h = risk_any_db
    await h.publish(
        trading("balance", "acc_1"),
        {
            "org": ORG,
            "user_id": USER,
            "at_ms": 1,
            "account_id": "acc_1",
            "asset": "USDT",
            "total": "10000",
            "available": "1",
        },
    )
    await h.publish(trading("fill", "acc_1"), fill("acc_1", BTC, "buy", "0.5", "100", 1))
    await h.publish(trading("fill", "acc_2"), fill("acc_2", ETH, "sell", "2", "10", 2))
    await h.until(lambda: h.state.realtime.events >= 3)
    x = await exposure(h, scope="account", key="acc_1")
    assert x["gross_exposure"] == "50"
    assert x["positions"][0]["quantity"] == "0.5"
    await h.publish(market("ticker", BTC), quote(BTC, "119", "121"))
    await h.until(lambda: h.state.realtime.book.mark(BTC) is not None)
    x = await exposure(h, scope="account", key="acc_1")
    assert x["gross_exposure"] == "60"
    assert x["unrealized_pnl"] == "10"
    assert x["equity"] == "10000"  # spot BTC is not in the balances yet: cash only
    assert x["leverage"] == "0.006"
    u = await exposure(h)  # the caller's user: both accounts
    assert u["gross_exposure"] == "80"
    assert u["net_exposure"] == "40"
    assert u["concentration"] == "0.75"
    # the trading engine's position event settles the fill-derived view
    await h.publish(trading("position", "acc_1"), position("acc_1", BTC, "0.4", "100", 10**13))
    await h.until(lambda: h.state.realtime.book.holding("acc_1", BTC).quantity == Decimal("0.4"))
    o = await exposure(h, scope="org", key=ORG)
    assert o["gross_exposure"] == "68"
    other = _who().__class__("user:x", TRADER_PERMS, "org_other")
    r = await h.call("GET", "/api/v1/risk/exposure", other, params={"scope": "account",
                     "key": "acc_1"})  # fmt: skip
    assert r.status_code == 404
    await h.until(lambda: h.state.realtime.book.dirty == set())
    await h.state.realtime.flush()


@pytest.mark.parametrize("risk_overrides", [{"breach_policy": "flatten"}])
async def test_drawdown_breach_cancels_and_flattens_once(risk_any_db: RiskHarness) -> None:
    h = risk_any_db
    rules = [{"id": "dd", "kind": "max_drawdown", "limit": "0.1"}]
    assert (await h.call("PUT", "/api/v1/risk/rules", json={"rules": rules})).status_code == 200
    await h.publish(
        trading("balance", "acc_d"),
        {
            "org": ORG,
            "user_id": USER,
            "at_ms": 1,
            "account_id": "acc_d",
            "asset": "USDT",
            "total": "1000",
            "available": "1",
        },
    )
    await h.publish(
        trading("position", "acc_d"),
        position("acc_d", "BTC-USDT-PERP.binance", "10", "100", 2, mark_price="100"),
    )
    await h.until(lambda: h.state.realtime.events >= 2)
    await h.publish(
        market("ticker", "BTC-USDT-PERP.binance"), quote("BTC-USDT-PERP.binance", "95", "95")
    )  # -50: 5 %, fine
    await h.until(lambda: h.state.realtime.book.mark("BTC-USDT-PERP.binance") == 95)
    await h.state.protection.idle()
    assert h.trading == []
    await h.publish(
        market("ticker", "BTC-USDT-PERP.binance"), quote("BTC-USDT-PERP.binance", "89.9", "89.9")
    )  # -101: 10.1 %
    await h.until(lambda: len(h.trading) >= 2)
    await h.state.protection.idle()
    paths = [c.path for c in h.trading]
    assert paths == ["/api/v1/orders/cancel-all", "/api/v1/orders"]
    order = h.trading[1].body
    assert order["side"] == "sell"
    assert order["quantity"] == "10"
    assert order["type"] == "market"
    assert order["reduce_only"] is True
    assert h.trading[1].principal.subject == f"user:{USER}"
    alerts = h.topics("risk.alert.critical")
    assert alerts[0]["kind"] == "max_drawdown"
    rules_now = (await h.call("GET", "/api/v1/risk/rules")).json()
    assert rules_now["kill_switches"][0]["key"] == "acc_d"  # automatic kill switch
    # a further drop does not act twice
    await h.publish(
        market("ticker", "BTC-USDT-PERP.binance"), quote("BTC-USDT-PERP.binance", "80", "80")
    )
    await h.until(lambda: h.state.realtime.book.mark("BTC-USDT-PERP.binance") == 80)
    await h.state.protection.idle()
    assert len(h.trading) == 2


@pytest.mark.parametrize("risk_overrides", [{"breach_confirm_s": 1.0}])
async def test_transient_breach_within_confirmation_does_nothing(risk: RiskHarness) -> None:
    """The balance of a trade seen before its position looks like a loss for a moment."""
    h = risk
    rules = [{"id": "dl", "kind": "daily_loss_limit", "limit": "100"}]
    assert (await h.call("PUT", "/api/v1/risk/rules", json={"rules": rules})).status_code == 200
    bal = {"org": ORG, "user_id": USER, "account_id": "acc_t", "asset": "USDT",
           "available": "1"}  # fmt: skip
    await h.publish(trading("balance", "acc_t"), {**bal, "at_ms": 1, "total": "1000"})
    await h.until(lambda: h.state.realtime.events >= 1)
    await h.publish(trading("balance", "acc_t"), {**bal, "at_ms": 2, "total": "500"})
    await h.until(lambda: bool(h.state.protection.pending))
    await h.publish(trading("balance", "acc_t"), {**bal, "at_ms": 3, "total": "1000"})
    await h.until(lambda: not h.state.protection.pending)
    await asyncio.sleep(1.2)
    await h.state.protection.idle()
    assert h.trading == []
    assert h.topics("risk.alert.critical") == []
    # a loss that lasts is acted on, without any further event
    await h.publish(trading("balance", "acc_t"), {**bal, "at_ms": 4, "total": "899"})
    await h.until(lambda: len(h.trading) >= 1, within_s=5)
    await h.state.protection.idle()
    assert h.topics("risk.alert.critical")[0]["kind"] == "daily_loss_limit"


async def test_stops_fire_once_and_survive_restart(platform_settings: PlatformSettings) -> None:
    settings = risk_settings()
    async with running(platform_settings, settings) as h:
        await h.publish(trading("position", "acc_s"), position("acc_s", BTC, "2", "100", 1))
        await h.until(lambda: h.state.realtime.events >= 1)
        r = await h.call(
            "POST",
            "/api/v1/risk/stops",
            _who(),
            json={"account_id": "acc_s", "instrument": BTC, "stop_loss": "90", "trailing_bps": 500},
        )
        assert r.status_code == 201, r.text
        stop_id = r.json()["stop_id"]
        r = await h.call(
            "POST", "/api/v1/risk/stops", _who(), json={"account_id": "acc_s", "instrument": BTC}
        )
        assert r.status_code == 422
        await h.publish(market("ticker", BTC), quote(BTC, "110", "110"))  # anchor moves to 110
        await h.until(lambda: h.state.realtime.book.mark(BTC) == 110)
        await h.state.protection.idle()
        await h.state.realtime.flush()
    # restart: the stop and its trailing anchor come back from the database
    async with running(platform_settings, settings) as h:
        stops = (await h.call("GET", "/api/v1/risk/stops", _who())).json()["items"]
        assert stops[0]["status"] == "active"
        assert stops[0]["trail_anchor"] == "110"
        assert h.state.realtime.book.holding("acc_s", BTC).quantity == 2
        await h.publish(market("ticker", BTC), quote(BTC, "104.6", "104.6"))  # -4.9 %
        await h.until(lambda: h.state.realtime.book.mark(BTC) is not None)
        await h.state.protection.idle()
        assert h.trading == []
        await h.publish(market("ticker", BTC), quote(BTC, "104.5", "104.5"))  # -5 %: fires
        await h.until(lambda: len(h.trading) == 1)
        await h.state.protection.idle()
        close = h.trading[0].body
        assert close["side"] == "sell"
        assert close["quantity"] == "2"
        assert close["reduce_only"] is False  # trading accepts reduce_only on perps only
        stops = (await h.call("GET", "/api/v1/risk/stops", _who())).json()["items"]
        assert stops[0]["stop_id"] == stop_id
        assert stops[0]["status"] == "triggered"
        await h.publish(market("ticker", BTC), quote(BTC, "50", "50"))
        await h.until(lambda: h.state.realtime.book.mark(BTC) == 50)
        await h.state.protection.idle()
        assert len(h.trading) == 1
        assert h.topics("risk.alert.warning")[0]["kind"] == "stop_triggered"


async def test_report_html_and_pdf_in_object_store(risk: RiskHarness) -> None:
    h = risk
    await h.publish(trading("position", "acc_r"), position("acc_r", BTC, "1", "100", 1))
    await h.until(lambda: h.state.realtime.events >= 1)
    r = await h.call(
        "POST", "/api/v1/risk/reports", _who(), json={"scope": "account", "key": "acc_r"}
    )
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["pdf_key"].endswith(".pdf")
    listed = (await h.call("GET", "/api/v1/risk/reports", _who())).json()["items"]
    assert [x["report_id"] for x in listed] == [rep["report_id"]]
    html = await h.call("GET", f"/api/v1/risk/reports/{rep['report_id']}/html", _who())
    assert "acc_r" in html.text
    assert "BTC-USDT.binance" in html.text
    assert "<td>Margin used (perpetuals)</td><td>0</td>" in html.text  # spot: no margin
    pdf = await h.call("GET", f"/api/v1/risk/reports/{rep['report_id']}/pdf", _who())
    assert pdf.content.startswith(b"%PDF")
    stranger = _who().__class__("user:z", TRADER_PERMS, "org_z")
    r = await h.call("GET", f"/api/v1/risk/reports/{rep['report_id']}/html", stranger)
    assert r.status_code == 404
    assert await h.state.reports.daily(_operator()) == 2  # the account and its org
    assert await h.state.reports.daily(_operator()) == 0  # once per day


def _operator() -> Any:
    from argosy.platform.auth.internal import Principal
    from argosy.services.risk.service._context import Caller

    return Caller(Principal("service:risk", frozenset({"risk:read"})), None, None)


async def test_var_and_es_from_stored_returns(platform_settings: PlatformSettings) -> None:
    settings = risk_settings(return_interval_s=60)
    totals = ["1000", "1010", "990", "1000", "1020", "950", "960", "970", "1000", "980", "990",
              "1005"]  # fmt: skip
    async with running(platform_settings, settings) as h:
        for i, total in enumerate(totals):
            await h.publish(trading("balance", "acc_v"), {"org": ORG, "user_id": USER,
                            "at_ms": i, "account_id": "acc_v", "asset": "USDT", "total": total,
                            "available": total})  # fmt: skip
            await h.until(lambda i=i: h.state.realtime.events >= i + 1)
            h.clock.advance(61)  # one return interval per balance
        x = await exposure(h, scope="account", key="acc_v")
        assert x["var_95"] is not None
        # worst of 11 returns is 950/1020 - 1: VaR = 6.86 % of equity 1005
        worst = Decimal(950) / Decimal(1020) - 1
        assert x["var_95"] == str((-worst * 1005).quantize(Decimal("0.00000001")))
        assert Decimal(x["expected_shortfall_95"]) == Decimal(x["var_95"])
        await h.state.realtime.flush()
    async with running(platform_settings, settings) as h:  # the returns were stored
        assert len(h.state.realtime.returns["acc_v"]) == len(totals) - 1
