"""The issue's parity promise: one strategy over one recorded data set gives the same
orders and fills in the backtester and in a live deployment.

Backtest: trade mode over the recorded Binance BTCUSDT trades, 1 s bars built from them,
the paper venue fed trade by trade. Live: the same strategy deployed through the API on a
paper account of the real trading service, fed over the real NATS server by a replay of
the same trades and of the 1 s bars built from them (`replay` in the harness: the
market-data service's part). Orders go over HTTP through the trading service's pre-trade
checks to its paper venue; fills come back on `trading.fill.<account>`.

Compared: every fill's side, price, quantity, fee, fee asset and liquidity, in order, and
every order's side, type and quantity. Not compared, because they cannot be equal: ids
(the trading service's, and the deployment's client order id prefix) and timestamps (the
backtest's simulated clock against the wall clock).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Interval
from argosy.services.strategy.backtest.data import Catalog
from argosy.services.strategy.backtest.engine import load_feed, run_backtest
from argosy.services.strategy.backtest.spec import BacktestSpec
from argosy.services.strategy.domain.portfolio import Portfolio
from tests.integration.strategy.test_deployments_harness import (
    live_stack,
    recorded_trades,
    replay,
)
from tests.integration.trading._market import SPOT
from tests.support.servers import SHARED_DATA

pytestmark = pytest.mark.timeout(300)

TRADES = 8000  # about 4 minutes of 2024-08-08 23:54-23:58 UTC: ~240 one-second bars


async def test_backtest_and_live_deployment_give_the_same_fills(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trades = recorded_trades(TRADES + 1)
    params = {"fast": 5, "slow": 20}
    async with live_stack(tmp_path, monkeypatch) as stack:
        cls = stack.strategy.state.strategy_service.registry.get("fixed_cross").cls
        spec = BacktestSpec(strategy=cls, instruments=(InstrumentId.parse(SPOT),),
                            params=params, mode="trade", interval=Interval.S1,
                            end_ns=trades[-1].ts_recv_ns, cash=Decimal(100_000))
        feed = load_feed(spec, Catalog(SHARED_DATA))
        assert len(feed) == TRADES  # the same trades the replay publishes
        backtest = run_backtest(spec, feed)
        assert backtest.status == "completed", backtest.error
        assert len(backtest.fills) >= 4  # the data set makes it trade

        user, org, account = await stack.person(balance="100000")
        r = await stack.client.post("/api/v1/deployments", headers=stack.headers(user, org),
                                    json={"strategy": "fixed_cross", "params": params,
                                          "instruments": [SPOT], "account_id": account,
                                          "feed": "bar", "interval": "1s"})
        assert r.status_code == 201, r.text
        dep = r.json()["id"]
        await replay(stack, stack.runner(dep), trades[:TRADES])
        doc = (await stack.client.get(f"/api/v1/deployments/{dep}",
                                      headers=stack.headers(user, org))).json()

    def key(side: str, price: Decimal, qty: Decimal, fee: Decimal, asset: str,
            liquidity: str) -> tuple[str, str, str, str, str, str]:
        return (side, str(price.normalize()), str(qty.normalize()), str(fee.normalize()),
                asset, liquidity)

    expected = [key(f.side.value, f.price.value, f.quantity.value, f.fee.value, f.fee_asset,
                    f.liquidity.value) for f in backtest.fills]
    live = [key(f["side"], Decimal(f["price"]), Decimal(f["quantity"]), Decimal(f["fee"]),
                f["fee_asset"], f["liquidity"]) for f in doc["fills"]]
    assert live == expected
    # the same orders, in the same sequence (the client ids differ only by their prefix)
    assert [o["client_order_id"].rpartition("n")[2] for o in doc["orders"]] == \
        [f.client_order_id.removeprefix("bt") for f in backtest.fills]
    assert all(o["status"] == "filled" for o in doc["orders"])
    book = Portfolio()
    for fill in backtest.fills:
        book.apply(fill)
    assert Decimal(doc["pnl"]["realized"]) == book.realized()
    assert Decimal(doc["pnl"]["fees"]) == book.fees_paid()
