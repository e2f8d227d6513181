"""Live deployments through the real trading service and NATS: start, orders and fills per
deployment, signals, pause/resume, stop, a strategy that raises, a service restart."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from argosy.contracts.topics import (
    STRATEGY_DEPLOYMENT_STOPPED,
    market,
    market_bar,
    strategy_signal,
)
from argosy.contracts.v1.market_data import trades_payload
from argosy.kernel.errors import Unavailable
from argosy.kernel.messages import Interval, TradeTick, to_dict
from argosy.platform.auth.internal import Principal
from argosy.services.strategy.domain.bars import BarBuilder
from tests.integration.strategy.test_deployments_harness import (
    LiveStack,
    collect,
    instrument_rows_async,
    live_stack,
    recorded_trades,
    replay,
    restarted_strategy,
    wait_for,
)
from tests.integration.trading._market import SPOT

pytestmark = pytest.mark.timeout(240)


async def _deploy(stack: LiveStack, user: str, org: str, account: str, strategy: str,
                  params: dict[str, object] | None = None, expect: int = 201
                  ) -> dict[str, Any]:
    r = await stack.client.post("/api/v1/deployments", headers=stack.headers(user, org), json={
        "strategy": strategy, "params": params or {}, "instruments": [SPOT],
        "account_id": account, "feed": "bar", "interval": "1s"})
    assert r.status_code == expect, r.text
    return dict(r.json())


async def _doc(stack: LiveStack, user: str, org: str, deployment_id: str
               ) -> dict[str, Any]:
    r = await stack.client.get(f"/api/v1/deployments/{deployment_id}",
                               headers=stack.headers(user, org))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_deployment_trades_through_the_trading_service(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    async with live_stack(tmp_path, monkeypatch) as stack:
        user, org, account = await stack.person()
        doc = await _deploy(stack, user, org, account, "stepper")
        dep = doc["id"]
        assert doc["status"] == "running"
        assert doc["running"] is True
        signals, _ = await collect(stack.feed, strategy_signal(dep))
        bars = await replay(stack, stack.runner(dep), recorded_trades(1500))
        assert bars >= 6
        doc = await _doc(stack, user, org, dep)
        # two market orders, each filled at the trading service's paper venue
        reasons = [o["reason"] for o in doc["orders"]]
        assert [o["status"] for o in doc["orders"]] == ["filled", "filled"], reasons
        assert [f["side"] for f in doc["fills"]] == ["buy", "sell"]
        assert sum(Decimal(f["quantity"]) for f in doc["fills"]) == Decimal("0.002")
        # the trading service knows them as this user's orders, with the same ids
        r = await stack.trading_client.get("/api/v1/orders",
                                           headers={"x-argosy-identity": stack.headers(
                                               user, org)["x-argosy-identity"]})
        theirs = {o["client_order_id"] for o in r.json()["items"]}
        assert {o["client_order_id"] for o in doc["orders"]} <= theirs
        pnl = doc["pnl"]
        buy, sell = doc["fills"]
        expected = (Decimal(sell["price"]) - Decimal(buy["price"])) * Decimal("0.001")
        assert Decimal(pnl["realized"]) == expected
        assert Decimal(pnl["fees"]) == Decimal(buy["fee"]) + Decimal(sell["fee"]) > 0
        assert pnl["positions"][0]["quantity"] in ("0", "0E-8", "0.000")
        await wait_for(lambda: len(signals) >= bars)
        first = orjson.loads(signals[0].data)
        assert first["deployment_id"] == dep
        assert first["name"] == "close"

        listing = await stack.client.get("/api/v1/deployments", headers=stack.headers(user, org))
        assert [d["id"] for d in listing.json()["items"]] == [dep]
        # another user sees nothing of it
        other, other_org, _ = await stack.person()
        r = await stack.client.get(f"/api/v1/deployments/{dep}",
                                   headers=stack.headers(other, other_org))
        assert r.status_code == 404

        stopped, _ = await collect(stack.feed, STRATEGY_DEPLOYMENT_STOPPED)
        r = await stack.client.post(f"/api/v1/deployments/{dep}/stop",
                                    headers=stack.headers(user, org))
        assert r.status_code == 200
        assert r.json()["status"] == "stopped"
        assert r.json()["stop_reason"] == "requested"
        assert r.json()["running"] is False
        await wait_for(lambda: len(stopped) == 1)
        event = orjson.loads(stopped[0].data)
        assert event["deployment_id"] == dep
        assert event["reason"] == "requested"
        assert event["user_id"] == user
        assert event["account_id"] == account
        r = await stack.client.post(f"/api/v1/deployments/{dep}/pause",
                                    headers=stack.headers(user, org))
        assert r.status_code == 409


async def test_bad_requests_are_4xx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with live_stack(tmp_path, monkeypatch) as stack:
        user, org, account = await stack.person()
        body = (await _deploy(stack, user, org, account, "sma_crossover",
                              {"fast": 0, "slow": 30}, expect=422))
        assert body["error"]["field"] == "params.fast"
        body = await _deploy(stack, user, org, account, "no_such_strategy", expect=422)
        assert body["error"]["field"]
        other_user, other_org, _ = await stack.person()
        body = await _deploy(stack, other_user, other_org, account, "stepper", expect=404)
        assert body["error"]["field"] == "account_id"
        r = await stack.client.post("/api/v1/deployments", headers=stack.headers(user, org),
                                    json={"strategy": "stepper", "instruments": ["NOPE.x"],
                                          "account_id": account})
        assert r.status_code == 422, r.text
        r = await stack.client.get("/api/v1/deployments/dep_nope",
                                   headers=stack.headers(user, org))
        assert r.status_code == 404


async def test_a_strategy_that_raises_is_stopped_and_reported(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    async with live_stack(tmp_path, monkeypatch) as stack:
        user, org, account = await stack.person()
        stopped, _ = await collect(stack.feed, STRATEGY_DEPLOYMENT_STOPPED)
        faulty = (await _deploy(stack, user, org, account, "faulty"))["id"]
        healthy = (await _deploy(stack, user, org, account, "stepper"))["id"]
        builder = BarBuilder(recorded_trades(1)[0].instrument_id, Interval.S1)
        topic = market_bar("1s", SPOT)
        for trade in recorded_trades(2000):
            bar = builder.update(trade)
            if bar is not None:
                await stack.feed.publish_json(topic, to_dict(bar))
        await wait_for(lambda: len(stopped) == 1)
        doc = await _doc(stack, user, org, faulty)
        assert doc["status"] == "failed"
        assert doc["stop_reason"] == "error"
        assert "RuntimeError: faulty strategy on bar 4" in doc["error"]
        event = orjson.loads(stopped[0].data)
        assert event["reason"] == "error"
        assert "faulty strategy" in event["error"]
        # the service and the other deployment carry on
        assert (await _doc(stack, user, org, healthy))["status"] == "running"
        await wait_for(lambda: stack.runner(healthy).bars_seen >= 6)


async def test_pause_resume_and_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    async with live_stack(tmp_path, monkeypatch) as stack:
        user, org, account = await stack.person()
        dep = (await _deploy(stack, user, org, account, "stepper"))["id"]
        trades = recorded_trades(1200)
        runner = stack.runner(dep)
        cut = _after_bars(trades, 4)  # bars 1-4: the buy of bar 3 fills
        await replay(stack, runner, trades[:cut])
        iid = trades[0].instrument_id
        assert runner.ctx.position(iid) == Decimal("0.001")
        r = await stack.client.post(f"/api/v1/deployments/{dep}/pause",
                                    headers=stack.headers(user, org))
        assert r.json()["status"] == "paused"
        seen = runner.bars_seen
        builder = BarBuilder(iid, Interval.S1)
        for trade in trades[cut:cut + 300]:
            bar = builder.update(trade)
            if bar is not None:
                await stack.feed.publish_json(market_bar("1s", SPOT), to_dict(bar))
        await asyncio.sleep(0.5)
        await runner.settled()
        assert runner.bars_seen == seen  # paused: no market data reached the strategy
        r = await stack.client.post(f"/api/v1/deployments/{dep}/resume",
                                    headers=stack.headers(user, org))
        assert r.json()["status"] == "running"

        # two more bars: the strategy's 6th sells; the order waits at the paper venue for
        # the next trade
        rest = trades[cut + 300:]
        builder, bars, k = BarBuilder(iid, Interval.S1), 0, 0
        for k, trade in enumerate(rest):  # noqa: B007  (k is used after the loop)
            bar = builder.update(trade)
            if bar is not None:
                await stack.feed.publish_json(market_bar("1s", SPOT), to_dict(bar))
                bars += 1
                if bars == 2:
                    break
        await wait_for(lambda: runner.bars_seen >= seen + 2)
        await runner.settled()
        assert list(runner.ctx.open_orders)  # the sell, not filled yet

        # the service shuts down (runners end, the rows stay running, orders stay working)
        # and the sell fills while it is down
        await stack.strategy.state.deployments.close()
        before = stack.traded[0]
        await stack.feed.publish_json(market("trade", SPOT),
                                      trades_payload(SPOT, [to_dict(rest[k])]))
        await wait_for(lambda: stack.traded[0] > before)

        # it starts again on the same database: the deployment resumes as a new
        # incarnation, its position rebuilt from its stored fills, and the fill made while
        # it was down arrives from its durable subscription
        async with restarted_strategy(stack, tmp_path / "plugins") as app:
            await wait_for(lambda: dep in app.state.deployments.runners)
            again = app.state.deployments.runners[dep]
            assert again.ctx._prefix.endswith("r1n")
            await wait_for(lambda: again.ctx.position(iid) == 0)
            async with asyncio.timeout(10):  # the order event follows its fill
                while True:
                    doc = await app.state.deployments.get(_principal(user, org), dep)
                    if [o["status"] for o in doc["orders"]] == ["filled", "filled"]:
                        break
                    await asyncio.sleep(0.02)
            assert doc["incarnation"] == 1
            assert doc["running"] is True
            assert [f["side"] for f in doc["fills"]] == ["buy", "sell"]


def _principal(user: str, org: str) -> Principal:
    return Principal(f"user:{user}", frozenset(), org)


def _after_bars(trades: list[TradeTick], n: int) -> int:
    builder = BarBuilder(trades[0].instrument_id, Interval.S1)
    bars = 0
    for k, trade in enumerate(trades):
        if builder.update(trade) is not None:
            bars += 1
            if bars == n:
                return k + 1
    raise AssertionError("not enough bars")


async def test_resume_waits_for_a_dependency_that_is_down(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Market data unreachable at the restart: the deployment waits and resumes once it
    answers, instead of being failed for good by a transient outage."""
    async with live_stack(tmp_path, monkeypatch) as stack:
        user, org, account = await stack.person()
        dep = (await _deploy(stack, user, org, account, "stepper"))["id"]
        await stack.strategy.state.deployments.close()
        calls = []

        async def flaky() -> list[Any]:
            calls.append(1)
            if len(calls) == 1:
                raise Unavailable("market-data unreachable: ConnectError",
                                  dependency="market-data")
            return await instrument_rows_async()

        async with restarted_strategy(stack, tmp_path / "plugins", flaky) as app:
            await wait_for(lambda: dep in app.state.deployments.runners, within_s=20)
            doc = await app.state.deployments.get(_principal(user, org), dep)
            assert doc["status"] == "running"
            assert doc["incarnation"] == 1
            assert len(calls) == 2
