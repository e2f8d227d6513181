"""Margin figures from the trading service's position events (leverage, liquidation price)
through the bus to GET /api/v1/risk/exposure and the `risk.exposure.<account>` payload."""

from __future__ import annotations

from argosy.contracts.topics import trading
from tests.integration.risk.conftest import RiskHarness
from tests.integration.risk.test_realtime import ORG, USER, exposure, position

BTC_PERP, ETH_PERP = "BTC-USDT-PERP.binance", "ETH-USDT-PERP.binance"


async def test_position_events_with_leverage_make_margin_figures(
    risk_any_db: RiskHarness,
) -> None:
    h = risk_any_db
    await h.publish(
        trading("balance", "acc_m1"),
        {"org": ORG, "user_id": USER, "at_ms": 1, "account_id": "acc_m1", "asset": "USDT",
         "total": "10000", "available": "10000"},
    )  # fmt: skip
    await h.publish(
        trading("position", "acc_m1"),
        position("acc_m1", BTC_PERP, "2", "30000", 2, mark_price="30000", leverage=10,
                 liquidation_price="27000"),
    )  # fmt: skip
    await h.publish(
        trading("position", "acc_m2"),
        position("acc_m2", ETH_PERP, "-5", "2000", 3, mark_price="2000", leverage=20,
                 liquidation_price="2100"),
    )  # fmt: skip
    await h.until(lambda: h.state.realtime.events >= 3)
    x = await exposure(h, scope="account", key="acc_m1")
    assert x["equity"] == "10000"
    assert x["margin_used"] == "6000"  # 2 x 30000 / 10
    assert x["margin_usage"] == "0.6"  # 6000 / 10000
    assert x["liquidation_distance"] == "0.1"  # |30000 - 27000| / 30000
    y = await exposure(h, scope="account", key="acc_m2")
    assert y["margin_used"] == "500"  # 5 x 2000 / 20
    assert y["margin_usage"] is None  # no balances and no PnL: equity 0
    assert y["liquidation_distance"] == "0.05"  # |2000 - 2100| / 2000
    u = await exposure(h)  # the user: both accounts
    assert (u["margin_used"], u["margin_usage"]) == ("6500", "0.65")
    assert u["liquidation_distance"] == "0.05"  # the closest of the two
    e = h.state.stream.event("acc_m1")
    assert e is not None
    assert (e.margin_used, e.margin_usage, e.liquidation_distance) == ("6000", "0.6", "0.1")
