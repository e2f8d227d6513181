"""Live deployments end to end through the running processes: `argosy run` with config,
market-data, users, trading and strategy and the embedded NATS.

A registered user's paper account (opened by trading from `users.account.created`) runs a
strategy plugin deployed through the strategy API. The recorded Binance spot BTCUSDT
trades of 2024-08-08 (/work/shared/data) go out on the platform's own bus as the
market-data service publishes them (`md.trade.*` batches, and `md.bar.1s.*` bars built from
them by the same `BarBuilder` the service's aggregator uses). The strategy's orders travel
over HTTP to the trading process and its pre-trade checks; fills come back over NATS.
Then the strategy process is killed with SIGKILL: the supervisor restarts it and the
deployment resumes as a new incarnation with its position rebuilt from its stored fills.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from argosy.contracts.topics import market, market_bar
from argosy.contracts.v1.market_data import trades_payload
from argosy.kernel.messages import Interval, from_dict, to_dict
from argosy.platform.auth.internal import Principal
from argosy.services.strategy.domain.bars import BarBuilder
from tests.e2e.test_risk_trading_stack import (
    SPOT,
    WAIT_S,
    BusTap,
    Stack,
    _nats_url,
    _recorded_trades,
    until,
)
from tests.support.platform import PlatformProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SERVICES = ["config", "market-data", "users", "trading", "strategy"]
PLUGIN = '''
from decimal import Decimal

from argosy.services.strategy.domain.strategy import Strategy


class Stepper(Strategy):
    """Buys 0.001 on its 3rd bar and sells it on its 6th; buys 0.001 again on its 9th."""

    def on_start(self):
        self.n = 0

    def on_bar(self, bar):
        self.n += 1
        self.signal("close", float(bar.close.value))
        if self.n in (3, 9):
            self.buy(bar.instrument_id, Decimal("0.001"))
        elif self.n == 6:
            self.close_position(bar.instrument_id)
'''


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Any) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("strategy-deployments")
    plugins = root / "plugins"
    plugins.mkdir()
    (plugins / "stepper.py").write_text(PLUGIN)
    proc = PlatformProcess(root / "var", services=SERVICES, env={
        "ARGOSY_MARKET_DATA_REPLAY_SPEED": "0.001",  # the test drives the recorded trades
        "ARGOSY_STRATEGY_STRATEGIES_DIR": str(plugins),
    }).start()
    tap: BusTap | None = None
    try:
        proc.wait_ready(timeout_s=240)
        tap = BusTap(_nats_url(proc))
        yield Stack(proc, tap)
    finally:
        if tap is not None:
            tap.close()
        proc.stop()


class _Bars:
    """The recorded trades forward, each closed 1 s bar right after the trade closing it,
    after the recorded depth snapshot (the paper venue's book, as in the risk e2e)."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.tap = stack, stack.tap
        self.rows, self.row = _recorded_trades(), 0
        first = from_dict(self.rows[0])
        self.builder = BarBuilder(first.instrument_id, Interval.S1)

    def play(self, bars: int, pause_s: float = 0.3) -> None:
        self.stack.market.send_book()
        sent = 0
        batch: list[dict[str, Any]] = []
        while sent < bars:
            row = self.rows[self.row]
            self.row += 1
            batch.append(row)
            bar = self.builder.update(from_dict(row))  # type: ignore[arg-type]
            if bar is not None:
                self.tap.publish(market("trade", SPOT), trades_payload(SPOT, batch))
                batch = []
                self.tap.publish(market_bar("1s", SPOT), to_dict(bar))
                sent += 1
                time.sleep(pause_s)  # the bar's order reaches trading before the next bar


def _deployment(stack: Stack, me: Principal, dep: str) -> dict[str, Any]:
    r = stack.call(me, "GET", "strategy", f"/api/v1/deployments/{dep}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_deployment_trades_through_the_processes_and_survives_kill9(stack: Stack,
                                                                       tmp_path: Path) -> None:
    me, account = stack.trader("deploy")
    headers = stack.p.headers(frozenset({"market:read"}))
    until(lambda: any(i["instrument_id"] == SPOT and i.get("tick_size") for i in httpx.get(
        f"{stack.p.url('market-data')}/api/v1/market/instruments", params={"limit": 500},
        headers=headers, timeout=10).json().get("items", [])), WAIT_S * 2,
        "market-data listed the recorded instruments")
    signals: list[Any] = []
    r = stack.call(me, "POST", "strategy", "/api/v1/deployments", json={
        "strategy": "stepper", "instruments": [SPOT], "account_id": account,
        "feed": "bar", "interval": "1s"})
    assert r.status_code == 201, r.text
    dep = r.json()["id"]
    bad = stack.call(me, "POST", "strategy", "/api/v1/deployments", json={
        "strategy": "sma_crossover", "params": {"fast": 0}, "instruments": [SPOT],
        "account_id": account})
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["field"] == "params.fast"
    stack.tap._run(stack.tap.bus.subscribe(f"strategy.signal.{dep}", _append(signals)))

    bars = _Bars(stack)
    bars.play(7)

    def round_trip() -> dict[str, Any] | None:
        doc = _deployment(stack, me, dep)
        return doc if [f["side"] for f in doc["fills"]] == ["buy", "sell"] else None

    try:
        doc = until(round_trip, WAIT_S, "the deployment's buy and sell filled")
    except AssertionError:
        raise AssertionError(f"{_deployment(stack, me, dep)}\n"
                             f"{stack.p.service_log('strategy')[-4000:]}") from None
    assert [o["status"] for o in doc["orders"]] == ["filled", "filled"]
    assert Decimal(doc["pnl"]["fees"]) > 0
    theirs = {o["client_order_id"] for o in stack.orders(me)}
    assert {o["client_order_id"] for o in doc["orders"]} <= theirs  # the trading API's own
    until(lambda: len(signals) >= 6, WAIT_S, "signals on strategy.signal.<id>")

    # SIGKILL the strategy process: the supervisor restarts it, the deployment resumes
    stack.kill9("strategy")
    resumed = until(lambda: (d := _deployment(stack, me, dep))["running"] and d, WAIT_S,
                    "the deployment resumed")
    assert resumed["incarnation"] == 1
    assert resumed["status"] == "running"
    bars.play(3)  # the resumed strategy starts counting again: its 3rd bar buys

    def bought_again() -> dict[str, Any] | None:
        d = _deployment(stack, me, dep)
        return d if [f["side"] for f in d["fills"]] == ["buy", "sell", "buy"] else None

    doc = until(bought_again, WAIT_S, "the resumed deployment traded")
    assert doc["orders"][-1]["client_order_id"].endswith("r1n1")
    assert Decimal(doc["pnl"]["positions"][0]["quantity"]) == Decimal("0.001")

    r = stack.call(me, "POST", "strategy", f"/api/v1/deployments/{dep}/stop")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "stopped"


def _append(into: list[Any]) -> Any:
    async def on(env: Any) -> None:
        into.append(env)

    return on
