"""Bars from trades: the incremental chain against a direct computation from the real
XRPETH aggTrades, and both against the recorded klines (a real pair: freqtrade built its
1m and 5m Binance test candles from these trades). Reconciliation rules."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from argosy.kernel.messages import Interval
from argosy.services.market_data.domain.bars import BarChain, reconcile

NS = 1_000_000


def _rows(shared: Path, name: str) -> list[dict[str, str]]:
    with (shared / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def direct(trades: list[tuple[int, Decimal, Decimal]], step: int
           ) -> dict[int, tuple[Decimal, ...]]:
    out: dict[int, list[Decimal]] = {}
    for ts, price, qty in trades:
        bucket = ts - ts % step
        if bucket not in out:
            out[bucket] = [price, price, price, price, qty]
        else:
            bar = out[bucket]
            bar[1], bar[2], bar[3], bar[4] = max(bar[1], price), min(bar[2], price), price, \
                bar[4] + qty
    return {t: tuple(b) for t, b in out.items()}


def chain_bars(trades: list[tuple[int, Decimal, Decimal]]) -> dict[Interval, dict[int, tuple]]:
    chain = BarChain()
    closed = []
    for ts, price, qty in trades:
        closed += chain.add(price, qty, ts)
    closed += chain.advance(trades[-1][0] + Interval.D1.ns * 2)
    out: dict[Interval, dict[int, tuple]] = {i: {} for i in Interval}
    for bar in closed:
        assert bar.ts_open not in out[bar.interval]
        out[bar.interval][bar.ts_open] = (bar.open, bar.high, bar.low, bar.close, bar.volume)
    return out


def test_chain_equals_direct_computation_and_the_recorded_klines(shared_data: Path) -> None:
    trades = [(int(r["ts_ms"]) * NS, Decimal(r["price"]), Decimal(r["qty"]))
              for r in _rows(shared_data, "trades/binance_spot_XRPETH_aggtrades.csv")]
    built = chain_bars(trades)
    for interval in Interval:
        assert built[interval] == direct(trades, interval.ns), interval
    for interval, name in ((Interval.M1, "ohlcv/binance_spot_XRPETH_1m.csv"),
                           (Interval.M5, "ohlcv/binance_spot_XRPETH_5m.csv")):
        klines = {int(r["open_time_ms"]) * NS: tuple(Decimal(r[k]) for k in
                                                     ("open", "high", "low", "close", "volume"))
                  for r in _rows(shared_data, name)}
        assert reconcile(built[interval], klines) == []
        assert len(klines) == len(built[interval])


def test_open_bars_merge_shorter_ones_and_close_on_the_watermark() -> None:
    chain = BarChain()
    d = Decimal
    assert chain.add(d(10), d(1), 0) == []
    assert chain.add(d(12), d(2), 500 * NS) == []
    closed = chain.add(d(9), d(1), 1_500 * NS)
    assert [(b.interval, b.ts_open, b.high) for b in closed] == [(Interval.S1, 0, d(12))]
    current = chain.current(Interval.M1)
    assert current is not None
    assert (current.open, current.high, current.low, current.close, current.volume,
            current.trades) == (d(10), d(12), d(9), d(9), d(4), 3)
    closed = chain.advance(60_000 * NS)
    assert [b.interval for b in closed] == [Interval.S1, Interval.M1]
    assert chain.current(Interval.H1) is not None
    assert chain.add(d(11), d(1), 500 * NS) == []  # a time going back: counted, kept
    assert chain.late == 1


def test_reconcile_names_every_difference() -> None:
    d = Decimal
    ours = {0: (d(1), d(2), d(1), d(2), d(3)), 60: (d(1), d(1), d(1), d(1), d(1))}
    theirs = {0: (d("1.0"), d(2), d("0.5"), d(2), d(3)), 120: (d(1), d(1), d(1), d(1), d(0)),
              180: (d(1), d(1), d(1), d(1), d(2))}
    found = [(m.ts_open, m.field) for m in reconcile(ours, theirs)]
    assert found == [(0, "low"), (60, "missing_at_venue"), (180, "missing_here")]
