"""USD-M perpetual leverage through the API, on SQLite and PostgreSQL with the real paper
venue: validation, the stored setting, margins and the liquidation price in
GET /api/v1/positions and in the `trading.position` event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.trading._harness import TradingHarness
from tests.integration.trading._market import PERP, SPOT

URL = f"/api/v1/positions/{PERP}/leverage"


async def test_leverage_is_validated(trading: TradingHarness) -> None:
    who = await trading.person()
    for bad in (0, 126, "10", 2.5, True):
        r = await trading.call("PUT", URL, who, json={"leverage": bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["field"] == "leverage", r.text
    r = await trading.call("PUT", f"/api/v1/positions/{SPOT}/leverage", who,
                           json={"leverage": 5})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "instrument"
    r = await trading.call("PUT", "/api/v1/positions/NOPE-USDT-PERP.binance/leverage", who,
                           json={"leverage": 5})
    assert r.status_code in (404, 422)
    assert r.json()["error"]["field"] == "instrument"


async def test_leverage_margin_and_liquidation_price(trading: TradingHarness) -> None:
    who = await trading.person(balance="1000")
    r = await trading.call("PUT", URL, who, json={"leverage": 20})
    assert r.status_code == 200, r.text
    assert r.json() == {"account_id": who.account, "instrument": PERP, "leverage": 20}
    flat = (await trading.call("GET", "/api/v1/positions", who)).json()["items"]
    assert [(p["instrument"], p["leverage"], p["liquidation_price"]) for p in flat] == [
        (PERP, 20, None)]
    # 0.05 BTC (≈ 3,000 USDT notional) needs ≈ 150 at 20x: fine on a 1,000 wallet (1x
    # would need ≈ 3,000 and be refused)
    out = await trading.order(who, instrument=PERP, side="buy", type="market",
                              quantity="0.05")
    assert out["status"] == "filled", out
    pos = (await trading.call("GET", "/api/v1/positions", who)).json()["items"][0]
    qty, entry = Decimal(pos["quantity"]), Decimal(pos["average_entry"])
    wallet = (await trading.balances(who))["USDT"]
    assert qty == Decimal("0.05")
    assert pos["leverage"] == 20
    price = Decimal(pos["mark_price"] or entry)
    assert Decimal(pos["initial_margin"]) == qty * price / 20
    assert Decimal(pos["maintenance_margin"]) == qty * price * Decimal("0.004")
    # cross: the whole USDT wallet backs it; by hand (q·entry − wallet) / (q · 0.996)
    liq = Decimal(pos["liquidation_price"])
    assert abs(liq - (qty * entry - wallet) / (qty * Decimal("0.996"))) < Decimal("1e-6")
    assert liq < entry
    # the event carries the same leverage and liquidation price
    def filled() -> list[dict[str, Any]]:
        return [e.json() for e in trading.published if e.topic.startswith("trading.position")
                and e.json().get("quantity") == "0.05"]

    await trading.wait_for(lambda: bool(filled()))
    assert filled()[-1]["leverage"] == 20
    assert Decimal(filled()[-1]["liquidation_price"]) == liq
    # open position: leverage is frozen
    r = await trading.call("PUT", URL, who, json={"leverage": 5})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "position_open"


async def test_short_liquidates_above_entry(trading: TradingHarness) -> None:
    who = await trading.person(balance="1000")
    assert (await trading.call("PUT", URL, who, json={"leverage": 10})).status_code == 200
    await trading.order(who, instrument=PERP, side="sell", type="market", quantity="0.02")
    pos = (await trading.call("GET", "/api/v1/positions", who)).json()["items"][0]
    assert Decimal(pos["quantity"]) == Decimal("-0.02")
    assert Decimal(pos["liquidation_price"]) > Decimal(pos["average_entry"])
