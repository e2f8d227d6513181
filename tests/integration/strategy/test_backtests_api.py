"""The strategy API end to end in-process: list strategies, queue backtests that run in a
worker process, read metrics, trades and equity back; every kind of bad input refused with
a 4xx naming the field; failing strategies reported without harming the service."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.strategy.conftest import Harness

pytestmark = pytest.mark.integration

SMA = {"strategy": "sma_crossover", "params": {"fast": 10, "slow": 30},
       "instruments": ["BTC-USD.ftx"], "fee_bps": "10"}


def _error(response: Any) -> tuple[int, str | None, str]:
    body = response.json()["error"]
    return response.status_code, body.get("field"), body["message"]


async def test_strategies_are_listed_with_parameters_and_plugin_errors(
        strategy_service: Harness) -> None:
    doc = (await strategy_service.get("/api/v1/strategies")).json()
    names = [s["name"] for s in doc["items"]]
    for builtin in ("sma_crossover", "ema_crossover", "rsi_mean_reversion",
                    "bollinger_breakout", "grid", "market_maker", "pairs_spread"):
        assert builtin in names
    assert "faulty" in names
    assert "killer" in names
    sma = next(s for s in doc["items"] if s["name"] == "sma_crossover")
    assert {p["name"] for p in sma["params"]} == {"fast", "slow"}
    assert [e["source"] for e in doc["errors"]] == ["file:broken.py"]
    assert any(d["file"] == "ftx_perp_BTC-PERP_1m.csv" for d in doc["datasets"])
    # the optimization and model routers are mounted in the same app
    for path in ("/api/v1/optimizations", "/api/v1/models"):
        assert (await strategy_service.get(path)).status_code == 200, path


async def test_a_backtest_runs_and_its_results_are_stored(strategy_service: Harness) -> None:
    created = await strategy_service.post("/api/v1/backtests", SMA)
    assert created.status_code == 202, created.text
    backtest_id = created.json()["id"]
    doc = await strategy_service.finished(backtest_id, points=500, fills="true")
    assert doc["status"] == "completed", doc["error"]
    assert doc["trades_count"] == 945
    assert doc["fills_count"] == 1890
    assert round(float(doc["final_equity"]), 2) == 9374.42
    assert doc["metrics"]["trades"] == 945
    assert doc["metrics"]["max_drawdown"] < -0.5
    assert len(doc["trades"]) == 945
    assert doc["trades"][0]["direction"] == "long"
    assert len(doc["fills"]) == 1890
    equity = doc["equity"]
    assert equity["points"] == 45_031
    assert len(equity["ts_ns"]) <= 501
    assert equity["value"][-1] == pytest.approx(float(doc["final_equity"]), rel=1e-9)
    listed = (await strategy_service.get("/api/v1/backtests")).json()["items"]
    assert listed[0]["id"] == backtest_id
    again = await strategy_service.post("/api/v1/backtests", SMA)
    repeat = await strategy_service.finished(again.json()["id"])
    assert repeat["fills_digest"] == doc["fills_digest"]


async def test_bad_input_is_refused_with_the_field_named(strategy_service: Harness) -> None:
    post = strategy_service.post
    status, field, message = _error(await post("/api/v1/backtests",
                                               {**SMA, "params": {"fast": 0}}))
    assert (status, field) == (422, "params.fast")
    assert "outside its range" in message
    status, field, message = _error(await post(
        "/api/v1/backtests", {**SMA, "start": "2030-01-01T00:00:00Z",
                              "end": "2030-01-02T00:00:00Z"}))
    assert status == 422
    assert field == "start"
    assert "BTC-USD.ftx" in message
    assert "2030-01-01" in message
    status, field, message = _error(await post("/api/v1/backtests",
                                               {**SMA, "instruments": ["DOGE-USD.ftx"]}))
    assert status == 404
    assert "DOGE-USD.ftx" in message
    status, field, _ = _error(await post("/api/v1/backtests", {**SMA, "strategy": "nope"}))
    assert (status, field) == (422, "strategy")
    status, field, _ = _error(await post("/api/v1/backtests", {**SMA, "instruments": ["x"]}))
    assert (status, field) == (422, "instruments")
    status, _, _ = _error(await post("/api/v1/backtests", {**SMA, "cash": "-5"}))
    assert status == 422
    status, _, _ = _error(await post("/api/v1/backtests", {**SMA, "surprise": 1}))
    assert status == 422
    missing = await strategy_service.get("/api/v1/backtests/bt_nope")
    assert missing.status_code == 404


async def test_failing_strategies_are_reported_and_the_service_keeps_serving(
        strategy_service: Harness) -> None:
    faulty = await strategy_service.post("/api/v1/backtests", {**SMA, "strategy": "faulty",
                                                               "params": {}})
    doc = await strategy_service.finished(faulty.json()["id"])
    assert doc["status"] == "failed"
    assert "RuntimeError: faulty plugin on bar 10" in doc["error"]
    killer = await strategy_service.post("/api/v1/backtests", {**SMA, "strategy": "killer",
                                                               "params": {}})
    doc = await strategy_service.finished(killer.json()["id"])
    assert doc["status"] == "failed"
    assert "worker process died" in doc["error"]
    healthy = await strategy_service.post("/api/v1/backtests", {
        **SMA, "end": "2022-01-02T00:00:00Z"})
    doc = await strategy_service.finished(healthy.json()["id"])
    assert doc["status"] == "completed", doc["error"]
    assert (await strategy_service.client.get("/healthz")).status_code == 200
