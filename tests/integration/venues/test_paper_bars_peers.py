"""Bar mode reproduces the peers' fill rule on the peers' own real bars.

../shared/bench-peers times backtrader, vectorbt and nautilus_trader on an SMA(10)/SMA(30)
cross, long-only, all-in, fills at the NEXT bar's open, 0.1 % fee, 100k start, over
ohlcv/ftx_perp_BTC-PERP_1m.csv (45,031 real 1m bars); RESULTS.md reports 945 round trips
and a final equity of 9374.42 (backtrader, vectorbt). Driving a `PaperVenue` in bar mode
with the same signals gives the same trades and, to the cent, the same equity; and it
equals, to the last digit, an independent Decimal loop of the same rule.
"""

from __future__ import annotations

import csv
from collections import deque
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import pytest

from argosy.kernel.clock import SimClock
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import Bar, Interval, Side
from argosy.kernel.money import Money, Price, Quantity
from argosy.kernel.orders import OrderRequest, OrderType
from argosy.venues.paper import FeeSchedule, PaperSettings, PaperVenue

D = Decimal
FEE = D("0.001")
LOT = D("1e-12")  # nautilus' quantity floor in the peers' run
BTC = Instrument("ftx", "BTC-PERP", "BTC", "USD", InstrumentKind.SPOT, Price("0.5"),
                 Quantity(LOT), Quantity(LOT), Money("0", "USD"))
MINUTE_NS = 60_000_000_000


def load(shared: Path) -> list[tuple[int, D, D, D, D]]:
    with (shared / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv").open(newline="") as handle:
        return [(int(r["open_time_ms"]) * 1_000_000, D(r["open"]), D(r["high"]), D(r["low"]),
                 D(r["close"])) for r in csv.DictReader(handle)]


class Cross:
    """SMA(10) vs SMA(30) of closes; +1 crossed up, -1 crossed down, 0 otherwise."""

    def __init__(self) -> None:
        self.closes: deque[D] = deque(maxlen=30)
        self.prev: tuple[D, D] | None = None

    def update(self, close: D) -> int:
        self.closes.append(close)
        if len(self.closes) < 30:
            return 0
        fast = sum(list(self.closes)[-10:], D(0)) / 10
        slow = sum(self.closes, D(0)) / 30
        prev, self.prev = self.prev, (fast, slow)
        if prev is None:
            return 0
        if fast > slow and prev[0] <= prev[1]:
            return 1
        if fast < slow and prev[0] >= prev[1]:
            return -1
        return 0


def reference(bars: list[tuple[int, D, D, D, D]]) -> tuple[D, int]:
    cash, held, pending, trades, cross = D(100_000), D(0), 0, 0, Cross()
    for _, open_, _, _, close in bars:
        if pending == 1:
            held = (cash / (open_ * (1 + FEE))).quantize(LOT, rounding=ROUND_FLOOR)
            cash -= held * open_ + held * open_ * FEE
            trades += 1
        elif pending == -1:
            cash += held * open_ - held * open_ * FEE
            held = D(0)
        signal = cross.update(close)
        pending = 1 if signal == 1 and not held else -1 if signal == -1 and held else 0
    return cash + held * bars[-1][4], trades


def test_sma_cross_matches_the_peers_and_the_reference(shared_data: Path) -> None:
    bars = load(shared_data)
    assert len(bars) == 45_031
    clock = SimClock(bars[0][0])
    venue = PaperVenue("paper", [BTC], clock, PaperSettings(
        fees={str(BTC.id): FeeSchedule(D(10), D(10))}, starting_balances={"USD": D(100_000)},
        shrink_market_buys=True))
    cross, buys, n = Cross(), 0, 0
    for ts, open_, high, low, close in bars:
        bar = Bar(BTC.id, Interval.M1, Price(open_), Price(high), Price(low), Price(close),
                  Quantity(0), ts, ts + MINUTE_NS)
        venue.on_bar(bar)
        clock.advance_to(ts + MINUTE_NS)
        signal = cross.update(close)
        free = venue.balance_detail()
        held = free.get("BTC", (D(0), D(0)))[0]
        if signal == 1 and not held:
            cash = free["USD"][0]
            ask = (2 * cash / close).quantize(LOT, rounding=ROUND_FLOOR)  # capped at the fill
            n += 1
            venue.submit_now(OrderRequest(f"b{n}", BTC.id, Side.BUY, OrderType.MARKET,
                                          Quantity(ask)))
            buys += 1
        elif signal == -1 and held:
            n += 1
            venue.submit_now(OrderRequest(f"s{n}", BTC.id, Side.SELL, OrderType.MARKET,
                                          Quantity(held)))
    detail = venue.balance_detail()
    equity = detail["USD"][0] + detail.get("BTC", (D(0), D(0)))[0] * bars[-1][4]
    expected, trades = reference(bars)
    fills = venue.all_fills()
    assert sum(1 for f in fills if f.side is Side.BUY) == trades == 945
    assert len(fills) == 1890
    assert equity == expected
    assert equity.quantize(D("0.01")) == D("9374.42")  # RESULTS.md: backtrader, vectorbt
    assert detail["USD"][1] == 0
    assert all(f.liquidity.value == "taker" for f in fills)


@pytest.fixture(autouse=True)
def _data(shared_data: Path) -> Path:
    return shared_data
