"""The event-driven backtester on the real recordings: parity with the vectorized path
(and so with the peers), determinism byte for byte, costs, modes, failure isolation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from argosy.kernel.clock import iso_to_ns
from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.messages import Bar, BookDelta, Interval, Side
from argosy.services.strategy.backtest import BacktestSpec, run_backtest
from argosy.services.strategy.backtest.data import check_range
from argosy.services.strategy.domain import indicators as ind
from argosy.services.strategy.domain.builtins import MarketMaker, SmaCrossover
from argosy.services.strategy.domain.strategy import Strategy
from argosy.services.strategy.domain.vectorized import crossover_signals, sma_crossover
from tests.unit.services.strategy._backtests import BTC_FTX, catalog, feed_for, iid

D = Decimal


@pytest.fixture(autouse=True)
def _data(shared_data: Path) -> Path:
    return shared_data


def _sma_spec(**kw: object) -> BacktestSpec:
    return BacktestSpec(SmaCrossover, (iid(BTC_FTX),), {"fast": 10, "slow": 30}, **kw)  # type: ignore[arg-type]


def _arrays(bars: list[Bar]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([float(b.open.value) for b in bars]),
            np.array([float(b.close.value) for b in bars]))


def test_sma_crossover_reproduces_the_vectorized_path_and_the_peers() -> None:
    spec = _sma_spec()
    feed = feed_for(spec)
    assert len(feed) == 45_031
    result = run_backtest(spec, feed)
    assert result.status == "completed", result.error
    fast = _arrays(feed.bars)
    vector = sma_crossover(*fast, 10, 30)
    # same round trips: entry and exit bars, and the fill prices (next open)
    bar_of = {b.ts_open_ns: n for n, b in enumerate(feed.bars)}
    buys = [bar_of[f.ts_ns] for f in result.fills if f.side is Side.BUY]
    sells = [bar_of[f.ts_ns] for f in result.fills if f.side is Side.SELL]
    assert buys == vector.trades.entry_bar.tolist()
    assert sells == vector.trades.exit_bar[vector.trades.exit_bar >= 0].tolist()
    assert len(result.trips) == len(vector.trades) == 945
    assert len(result.fills) == vector.orders == 1890
    assert float(result.final_equity) == pytest.approx(vector.final_equity, rel=1e-9)
    assert round(result.final_equity, 2) == D("9374.42")  # bench-peers RESULTS.md
    assert result.curve[-1] == pytest.approx(vector.equity[-1], rel=1e-9)
    np.testing.assert_allclose(result.curve, vector.equity, rtol=1e-9)
    assert result.metrics["trades"] == 945
    assert result.metrics["exposure"] == pytest.approx(vector.in_market.mean())


def test_same_inputs_give_byte_identical_fills() -> None:
    spec = _sma_spec(latency_ns=250_000_000, slippage_bps=D(3))
    feed = feed_for(spec)
    first, second = run_backtest(spec, feed), run_backtest(spec, feed)
    assert first.fills
    assert first.fills_digest == second.fills_digest
    assert [f.ts_ns for f in first.fills] == [f.ts_ns for f in second.fills]
    book = BacktestSpec(MarketMaker, (iid("BTC-USDT.binance"),), {"quantity": 0.01},
                        mode="book")
    a, b = run_backtest(book, feed_for(book)), run_backtest(book, feed_for(book))
    assert a.fills
    assert a.fills_digest == b.fills_digest


def test_fees_slippage_and_latency_are_charged() -> None:
    base = run_backtest(_sma_spec(), feed_for(_sma_spec()))
    costly_spec = _sma_spec(taker_bps=D(20), slippage_bps=D(10))
    costly = run_backtest(costly_spec, feed_for(costly_spec))
    first = costly.fills[0]
    plain = base.fills[0]
    assert first.ts_ns == plain.ts_ns
    tick = feed_for(costly_spec).instruments[iid(BTC_FTX)].tick_size.value
    assert first.price.value == (plain.price.value * D("1.001")).quantize(
        tick, rounding="ROUND_CEILING")
    assert first.fee.value == first.price.value * first.quantity.value * D("0.002")
    assert costly.final_equity < base.final_equity
    late_spec = _sma_spec(latency_ns=30_000_000_000)  # arrives mid-bar: next open
    late = run_backtest(late_spec, feed_for(late_spec))
    assert late.fills[0].ts_ns == plain.ts_ns + Interval.M1.ns


def test_several_instruments_run_merged_by_time() -> None:
    spec = BacktestSpec(SmaCrossover, (iid("ETH-BTC.bittrex"), iid("LTC-BTC.bittrex")),
                        interval=Interval.M5, cash=D(10))
    feed = feed_for(spec)
    times = [b.ts_open_ns for b in feed.bars]
    assert times == sorted(times)
    result = run_backtest(spec, feed)
    assert result.status == "completed", result.error
    traded = {str(f.instrument_id) for f in result.fills}
    assert traded == {"ETH-BTC.bittrex", "LTC-BTC.bittrex"}
    # each instrument's entries follow its own SMA cross on the previous bar
    for name in traded:
        bars = [b for b in feed.bars if str(b.instrument_id) == name]
        close = np.array([float(b.close.value) for b in bars])
        entries, _ = crossover_signals(ind.sma(close, 10), ind.sma(close, 30))
        signal_open = {bars[n + 1].ts_open_ns for n in np.flatnonzero(entries)
                       if n + 1 < len(bars)}
        buys = [f.ts_ns for f in result.fills
                if str(f.instrument_id) == name and f.side is Side.BUY]
        assert buys
        assert set(buys) <= signal_open


class _Explodes(Strategy):
    """Raises on the 100th bar."""

    def on_start(self) -> None:
        self.seen = 0

    def on_bar(self, bar: Bar) -> None:
        self.seen += 1
        if self.seen == 50:
            self.buy(bar.instrument_id, D("0.1"))
        if self.seen == 100:
            raise ZeroDivisionError("strategy bug")


def test_a_strategy_that_raises_is_stopped_and_reported() -> None:
    spec = BacktestSpec(_Explodes, (iid(BTC_FTX),))
    result = run_backtest(spec, feed_for(_sma_spec()))
    assert result.status == "failed"
    assert result.error is not None
    assert "ZeroDivisionError: strategy bug" in result.error
    assert "on_bar" in result.error
    assert len(result.fills) == 1
    assert len(result.curve) == 99


def test_parameters_out_of_range_are_refused_before_running() -> None:
    with pytest.raises(Invalid) as info:
        BacktestSpec(SmaCrossover, (iid(BTC_FTX),), {"fast": 0}).build()
    assert info.value.field == "params.fast"
    with pytest.raises(Invalid) as info:
        BacktestSpec(SmaCrossover, (iid(BTC_FTX),), {"fast": 40, "slow": 30}).build()
    assert info.value.field == "params.fast"


def test_a_range_without_data_names_the_instrument_and_the_range() -> None:
    start, end = iso_to_ns("2030-01-01T00:00:00Z"), iso_to_ns("2030-02-01T00:00:00Z")
    with pytest.raises(Invalid) as info:
        check_range(catalog(), iid(BTC_FTX), "bar", Interval.M1, start, end)
    assert "BTC-USD.ftx" in info.value.message
    assert "2030-01-01" in info.value.message
    assert info.value.code == "no_data"
    with pytest.raises(NotFound) as missing:
        catalog().find(iid("DOGE-USD.ftx"), "bar", Interval.M1)
    assert "DOGE-USD.ftx" in missing.value.message
    with pytest.raises(Invalid, match="between"):
        feed_for(_sma_spec(start_ns=start, end_ns=end))


def test_trade_mode_builds_bars_and_fills_at_the_next_trade() -> None:
    spec = BacktestSpec(SmaCrossover, (iid("XRP-ETH.binance"),), {"fast": 5, "slow": 20},
                        mode="trade", cash=D(10))
    feed = feed_for(spec)
    result = run_backtest(spec, feed)
    assert result.status == "completed", result.error
    assert result.fills
    trade_times = {e.ts_recv_ns for e in feed.events}  # type: ignore[union-attr]
    assert all(f.ts_ns in trade_times for f in result.fills)
    assert len(result.curve) > 100  # one point per built bar


class _Timed(Strategy):
    """Sets a timer 90 s after the first bar and sells what it does not hold."""

    def on_start(self) -> None:
        self.fired: list[tuple[int, str]] = []
        self.reports: list[str] = []
        self.first: int | None = None

    def on_bar(self, bar: Bar) -> None:
        if self.first is None:
            self.first = bar.ts_close_ns
            self.set_timer(bar.ts_close_ns + 90_000_000_000, "wake")
            self.sell(bar.instrument_id, D(1))  # spot, nothing held: the venue refuses

    def on_timer(self, ts_ns: int, name: str) -> None:
        self.fired.append((ts_ns, name))
        assert self.now_ns() == ts_ns

    def on_order(self, report: object) -> None:
        self.reports.append(getattr(report, "status").value)  # noqa: B009


def test_timers_fire_on_simulated_time_and_rejections_reach_the_strategy() -> None:
    spec = BacktestSpec(_Timed, (iid(BTC_FTX),), end_ns=None)
    strategy = _Timed()
    result = run_backtest(spec, feed_for(_sma_spec()), strategy=strategy)
    assert result.status == "completed", result.error
    assert strategy.first is not None
    assert strategy.fired == [(strategy.first + 90_000_000_000, "wake")]
    assert strategy.reports == ["rejected"]
    assert result.rejections == 1


class _Tops(Strategy):
    """Records the top of the book at every book update."""

    def on_start(self) -> None:
        self.tops: dict[int, tuple[object, object]] = {}

    def on_book(self, delta: BookDelta) -> None:
        self.tops[delta.ts_recv_ns] = self.best_bid_ask(delta.instrument_id)


def test_book_mode_with_a_later_start_rebuilds_the_book_first() -> None:
    whole = BacktestSpec(_Tops, (iid("BTC-USDT.binance"),), mode="book")
    full = _Tops()
    run_backtest(whole, feed_for(whole), strategy=full)
    start = sorted(full.tops)[len(full.tops) // 2]
    later = BacktestSpec(_Tops, (iid("BTC-USDT.binance"),), mode="book", start_ns=start)
    part = _Tops()
    assert run_backtest(later, feed_for(later), strategy=part).status == "completed"
    assert min(part.tops) == start
    assert part.tops == {ts: top for ts, top in full.tops.items() if ts >= start}
