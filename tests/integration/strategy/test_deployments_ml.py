"""The ML classifier strategy with a model from the registry: trained through the API,
then run live (a deployment on the real trading service, fed over NATS) and in a backtest
(its worker process gets the model's bytes); other users' and unknown models are 404."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from argosy.contracts.topics import strategy_signal
from tests.integration.strategy.test_deployments_harness import (
    LiveStack,
    collect,
    live_stack,
    recorded_trades,
    replay,
    wait_for,
)
from tests.integration.trading._market import SPOT

pytestmark = pytest.mark.timeout(300)

FTX = "ohlcv/ftx_perp_BTC-PERP_1m.csv"
FIRST_MS = 1640991660000  # the file's first bar
# P(up) > 0 always: enter at the first bar past the features' warm-up, never exit
ALWAYS_IN = {"model": "btc-ml", "enter_above": 0.0, "exit_below": 0.0}


async def _train(stack: LiveStack, headers: dict[str, str]) -> dict[str, Any]:
    r = await stack.client.post("/api/v1/models", headers=headers, json={
        "name": "btc-ml", "dataset": FTX, "end_ms": FIRST_MS + 6000 * 60_000,
        "kind": "logistic", "horizon": 3, "cv_splits": 3})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_ml_classifier_live_and_in_a_backtest(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    async with live_stack(tmp_path, monkeypatch) as stack:
        user, org, account = await stack.person(balance="1000")
        headers = stack.headers(user, org)
        assert (await _train(stack, headers))["version"] == 1

        r = await stack.client.post("/api/v1/deployments", headers=headers, json={
            "strategy": "ml_classifier", "params": {**ALWAYS_IN, "model": "absent"},
            "instruments": [SPOT], "account_id": account, "feed": "bar", "interval": "1s"})
        assert r.status_code == 404, r.text
        other, other_org, other_account = await stack.person()
        r = await stack.client.post("/api/v1/deployments", headers=stack.headers(
            other, other_org), json={"strategy": "ml_classifier", "params": ALWAYS_IN,
                                     "instruments": [SPOT], "account_id": other_account})
        assert r.status_code == 404, r.text  # not their model
        assert r.json()["error"]["field"] == "params.model"

        r = await stack.client.post("/api/v1/deployments", headers=headers, json={
            "strategy": "ml_classifier", "params": ALWAYS_IN, "instruments": [SPOT],
            "account_id": account, "feed": "bar", "interval": "1s"})
        assert r.status_code == 201, r.text
        dep = r.json()["id"]
        signals, _ = await collect(stack.feed, strategy_signal(dep))
        await replay(stack, stack.runner(dep), recorded_trades(3000))
        doc = (await stack.client.get(f"/api/v1/deployments/{dep}", headers=headers)).json()
        assert [f["side"] for f in doc["fills"]] == ["buy"]
        bought = Decimal(doc["fills"][0]["quantity"])
        price = Decimal(doc["fills"][0]["price"])
        assert Decimal("900") < bought * price < Decimal("1000")  # all-in, within the cash
        await wait_for(lambda: len(signals) > 0)
        first = orjson.loads(signals[0].data)
        assert first["name"] == "p_up"
        assert 0.0 < first["value"] < 1.0

        r = await stack.client.post("/api/v1/backtests", headers=headers, json={
            "strategy": "ml_classifier", "params": ALWAYS_IN, "instruments": [SPOT],
            "mode": "trade", "interval": "1s", "end": "2024-08-08T23:56:00Z",
            "cash": "1000"})
        assert r.status_code == 202, r.text
        backtest = r.json()["id"]
        async with asyncio.timeout(120):
            while True:
                done = (await stack.client.get(f"/api/v1/backtests/{backtest}",
                                               headers=headers, params={"fills": True})).json()
                if done["status"] in ("completed", "failed"):
                    break
                await asyncio.sleep(0.2)
        assert done["status"] == "completed", done["error"]
        assert [f["side"] for f in done["fills"]] == ["buy"]
        r = await stack.client.post("/api/v1/backtests", headers=stack.headers(
            other, other_org), json={"strategy": "ml_classifier", "params": ALWAYS_IN,
                                     "instruments": [SPOT], "mode": "trade",
                                     "interval": "1s", "end": "2024-08-08T23:56:00Z"})
        assert r.status_code == 404, r.text
