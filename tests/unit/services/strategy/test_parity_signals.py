"""The vectorized signal strategies of the optimizer (domain/optimize.py) and the
event-driven built-ins of the same names make the same trades on real bars.

The optimizer screens parameters with the vectorized path and a user then backtests or
deploys the event-driven built-in with the winner, so the two must agree: same entry and
exit bars, same fill prices (the next open), same quantities under the all-in rule, same
final equity. Run over three recordings (Bittrex ETH-BTC 5m, Binance USD-M XRPUSDT 5m,
the first 15,000 bars of FTX BTC-PERP 1m) and several parameter sets each.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from argosy.kernel.messages import Interval, Side
from argosy.services.strategy.backtest import BacktestSpec, run_backtest
from argosy.services.strategy.domain.builtins import BUILTINS
from argosy.services.strategy.domain.optimize import OHLCV, signal_strategy
from argosy.services.strategy.domain.vectorized import FillRule, backtest_signals
from tests.unit.services.strategy._backtests import feed_for, iid

CASES: list[tuple[str, str, Interval, int | None]] = [
    ("ETH-BTC.bittrex", "ETH-BTC 5m", Interval.M5, None),
    ("XRP-USDT.binance", "XRPUSDT 5m", Interval.M5, None),
    ("BTC-USD.ftx", "BTC 1m", Interval.M1, 15_000),
]
PARAMS: dict[str, list[dict[str, Any]]] = {
    "rsi_mean_reversion": [{"period": 14, "oversold": 30.0, "overbought": 70.0},
                           {"period": 7, "oversold": 25.0, "overbought": 60.0},
                           {"period": 30, "oversold": 40.0, "overbought": 55.0}],
    "bollinger_breakout": [{"period": 20, "width": 2.0}, {"period": 10, "width": 1.0},
                           {"period": 50, "width": 2.5}],
}


@pytest.fixture(autouse=True)
def _data(shared_data: Path) -> Path:
    return shared_data


def _spec(name: str, instrument: str, interval: Interval, limit: int | None,
          params: dict[str, Any]) -> BacktestSpec:
    spec = BacktestSpec(BUILTINS[name], (iid(instrument),), params, interval=interval,
                        cash=Decimal(10_000))
    if limit is None:
        return spec
    bars = feed_for(spec).bars
    return BacktestSpec(BUILTINS[name], (iid(instrument),), params, interval=interval,
                        cash=Decimal(10_000), end_ns=bars[limit].ts_open_ns)


@pytest.mark.parametrize("name", sorted(PARAMS))
@pytest.mark.parametrize(("instrument", "label", "interval", "limit"), CASES,
                         ids=[c[1] for c in CASES])
def test_vectorized_and_event_driven_make_the_same_trades(
        name: str, instrument: str, label: str, interval: Interval, limit: int | None) -> None:
    traded = 0
    for params in PARAMS[name]:
        spec = _spec(name, instrument, interval, limit, params)
        bars = feed_for(spec).bars
        result = run_backtest(spec, feed_for(spec))
        assert result.status == "completed", result.error

        columns = {k: np.array([float(getattr(b, k).value) for b in bars])
                   for k in ("open", "high", "low", "close", "volume")}
        ohlcv = OHLCV(**columns)
        entries, exits = signal_strategy(name).signals(ohlcv, params, None)
        vector = backtest_signals(ohlcv.open, ohlcv.close, entries, exits, cash=10_000.0,
                                  rule=FillRule(fee=0.001))

        index = {b.ts_open_ns: n for n, b in enumerate(bars)}
        buys = [index[f.ts_ns] for f in result.fills if f.side is Side.BUY]
        sells = [index[f.ts_ns] for f in result.fills if f.side is Side.SELL]
        assert buys == vector.trades.entry_bar.tolist(), params
        assert sells == [int(k) for k in vector.trades.exit_bar if k >= 0], params
        # the same quantities and prices (the next open), hence the same equity
        buy_qty = [float(f.quantity.value) for f in result.fills if f.side is Side.BUY]
        np.testing.assert_allclose(buy_qty, vector.trades.quantity, rtol=1e-9)
        buy_px = [float(f.price.value) for f in result.fills if f.side is Side.BUY]
        np.testing.assert_allclose(buy_px, vector.trades.entry_price, rtol=1e-12)
        assert float(result.final_equity) == pytest.approx(vector.final_equity, rel=1e-9)
        traded += len(buys)
    assert traded > 0  # the recordings make every strategy trade
