"""A close the venue keeps refusing: retried with exponential backoff up to a cap (not every
second forever), a critical alert after `action_alert_after` failures, and the close goes
through once the venue accepts it."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
import pytest

from argosy.contracts.topics import market, trading
from argosy.services.risk.trading import TradingGateway
from tests.integration.risk.conftest import RiskHarness
from tests.integration.risk.test_realtime import BTC, _who, position, quote

ACC = "acc_refused"
STOP = {"account_id": ACC, "instrument": BTC, "stop_loss": "90"}


@pytest.fixture
def risk_overrides() -> dict[str, Any]:
    return {"action_retry_s": 0.1, "action_retry_max_s": 0.4, "action_alert_after": 3}


async def test_refused_close_backs_off_alerts_and_finally_closes(risk: RiskHarness) -> None:
    h = risk
    posts: list[tuple[float, dict[str, Any]]] = []
    venue = {"refuse": True}

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        posts.append((time.monotonic(), body))
        if venue["refuse"]:
            return httpx.Response(201, json={"status": "rejected", "filled_quantity": "0",
                                             "reason": "no market data"})  # fmt: skip
        return httpx.Response(201, json={"status": "filled", "filled_quantity": body["quantity"]})

    gateway = TradingGateway("http://trading", h.runtime.auth,
                             transport=httpx.MockTransport(handle))  # fmt: skip
    h.state.protection.trading = gateway
    try:
        await h.publish(trading("position", ACC), position(ACC, BTC, "2", "100", 1))
        await h.until(lambda: h.state.realtime.events >= 1)
        r = await h.call("POST", "/api/v1/risk/stops", _who(), json=STOP)
        assert r.status_code == 201, r.text
        await h.publish(market("ticker", BTC), quote(BTC, "80", "80"))  # fires the stop
        await h.until(lambda: len(posts) >= 7, within_s=10)
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(posts)][:6]
        # at least 0.1, 0.2, 0.4 (cap), 0.4...: doubling, then capped (upper bounds are
        # loose: the machine is shared)
        for gap, delay in zip(gaps, (0.1, 0.2, 0.4, 0.4, 0.4, 0.4), strict=True):
            assert delay * 0.95 <= gap < delay + 0.6, gaps
        ids = [p[1]["client_order_id"] for p in posts]
        assert len(set(ids)) == len(ids)  # each retry is a new order, not the refused one
        await h.until(lambda: len(h.topics("risk.alert.critical")) == 1)
        alert = h.topics("risk.alert.critical")[0]
        assert (alert["kind"], alert["account_id"]) == ("protection_failing", ACC)
        assert "failed 3 times" in alert["message"]
        venue["refuse"] = False
        await h.state.protection.idle()  # waits for the delayed retry too
        tried = len(posts)
        assert posts[-1][1]["side"] == "sell"
        assert posts[-1][1]["quantity"] == "2"
        stops = (await h.call("GET", "/api/v1/risk/stops", _who())).json()["items"]
        assert stops[0]["status"] == "triggered"
        await h.publish(market("ticker", BTC), quote(BTC, "70", "70"))
        await h.until(lambda: h.state.realtime.book.mark(BTC) == 70)
        await h.state.protection.idle()
        assert len(posts) == tried  # closed: no more attempts
        assert len(h.topics("risk.alert.critical")) == 1  # one alert per failing action
    finally:
        await gateway.close_all()
