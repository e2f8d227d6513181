"""Every order type and time in force through the service to the paper venue, against the
recorded BTCUSDT book (best bid 61837.63, best ask just above)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.integration.trading._harness import TradingHarness
from tests.integration.trading._market import SPOT

pytestmark = pytest.mark.integration

BUY: dict[str, Any] = {"instrument": SPOT, "side": "buy", "quantity": "0.001"}


@pytest.mark.parametrize(("extra", "status"), [
    ({"type": "stop_market", "stop_price": "70000"}, "accepted"),
    ({"type": "stop_limit", "stop_price": "70000", "price": "70010"}, "accepted"),
    ({"type": "take_profit", "stop_price": "50000"}, "accepted"),
    ({"type": "take_profit_limit", "stop_price": "50000", "price": "50010"}, "accepted"),
    ({"type": "trailing_stop", "trailing_bps": 50}, "accepted"),
    ({"type": "post_only", "price": "60000"}, "accepted"),
    ({"type": "post_only", "price": "62000"}, "rejected"),  # would take liquidity
    ({"type": "limit", "price": "60000", "time_in_force": "ioc"}, "expired"),
    ({"type": "limit", "price": "62000", "time_in_force": "fok"}, "filled"),
    ({"type": "market", "time_in_force": "ioc"}, "filled"),
])
async def test_order_type(trading: TradingHarness, extra: dict[str, Any], status: str) -> None:
    who = await trading.person()
    out = await trading.order(who, **BUY, **extra)
    assert out["status"] == status, out
    if status == "rejected":
        assert "post-only" in out["reason"]


async def test_good_till_date_expires(trading: TradingHarness) -> None:
    who = await trading.person()
    gtd = await trading.order(who, **BUY, type="limit", price="60000", time_in_force="gtd",
                              expire_at=time.time_ns() + 300_000_000)
    assert gtd["status"] == "accepted"
    await asyncio.sleep(0.4)
    await trading.order(who, **BUY, type="limit", price="59000")  # the venue's clock moves

    async def expired() -> bool:
        r = await trading.call("GET", f"/api/v1/orders/{gtd['id']}", who)
        return bool(r.json()["status"] == "expired")

    await trading.wait_for(expired, 5)
