"""Algorithms run through the paper venue over REAL recorded Binance BTCUSDT spot data.

The stream (../shared/data/ws/binance_spot_BTCUSDT_20240808.jsonl.gz: a REST snapshot,
100 ms depth diffs and every trade, 23:54:14-23:59:59 UTC) drives the PaperVenue exactly
as `recorded.replay` does; the test plays the trading service: it steps the algorithm on
every market event and carries out its intents against the venue. Market volume and VWAP
over the window are summed here from the raw trades, independently of venue and algorithm.
"""

from __future__ import annotations

import csv
import functools
from collections import deque
from decimal import Decimal as D  # noqa: N817  (amounts read better short)
from decimal import localcontext
from pathlib import Path

import pytest

from argosy.kernel.clock import SimClock
from argosy.kernel.errors import VenueRejected
from argosy.kernel.instruments import Instrument, InstrumentKind
from argosy.kernel.messages import Bar, Interval, Side, TradeTick
from argosy.kernel.money import MONEY_CONTEXT, Money, Price, Quantity
from argosy.kernel.orders import ExecutionReport
from argosy.services.trading.domain.algos import (
    AlgoStatus,
    Iceberg,
    Intent,
    MarketSnapshot,
    ParentAlgo,
    ParentSpec,
    Pov,
    SubmitChild,
    Twap,
    VolumeProfile,
    Vwap,
)
from argosy.venues.paper import FeeSchedule, PaperSettings, PaperVenue
from argosy.venues.paper.recorded import (
    BookSnapshot,
    RecordedEvent,
    recorded_binance_events,
    replay,
)
from tests.support.binance_data import SHARED_DATA, stream_events, ws_file

NAME = "binance_spot_BTCUSDT_20240808.jsonl.gz"
SPOT = Instrument("binance", "BTCUSDT", "BTC", "USDT", InstrumentKind.SPOT, Price("0.01"),
                  Quantity("0.00001"), Quantity("0.00001"), Money("5", "USDT"))
S = 1_000_000_000


@pytest.fixture(autouse=True)
def _data(shared_data: Path) -> Path:
    return shared_data


@functools.cache
def events() -> list[RecordedEvent]:
    return recorded_binance_events(ws_file(NAME), SPOT.id)


def raw_trades(start: int, end: int) -> list[tuple[int, D, D]]:
    """(recv ns, price, qty) of every recorded trade in [start, end), from the raw JSON."""
    return [(recv, D(data["p"]), D(data["q"])) for recv, _, data in stream_events(NAME)
            if data.get("e") == "trade" and start <= recv < end]


class Service:
    """Plays the trading service: feeds the venue, steps the algorithm, runs intents."""

    def __init__(self, algo: ParentAlgo) -> None:
        self.algo = algo
        self.clock = SimClock(first_ts())
        settings = PaperSettings(fees={str(SPOT.id): FeeSchedule(D(0), D("10"))},
                                 starting_balances={"USDT": D(10_000_000), "BTC": D(100)})
        self.venue = PaperVenue("paper", [SPOT], self.clock, settings)
        self.pending: deque[Intent] = deque()
        self.venue.add_listener(self.on_report)
        self.volume = D(0)
        self.sent: list[tuple[int, SubmitChild]] = []
        self.max_open_shown = Quantity(0)
        self.asks: dict[int, D] = {}

    def on_report(self, report: ExecutionReport) -> None:
        self.pending.extend(self.algo.on_report(report))

    def execute(self, intents: list[Intent]) -> None:
        self.pending.extend(intents)
        while self.pending:
            intent = self.pending.popleft()
            if isinstance(intent, SubmitChild):
                self.sent.append((self.clock.now_ns(), intent))
                try:
                    self.on_report(self.venue.submit_now(intent.order))
                except VenueRejected:
                    raise AssertionError(f"venue refused {intent.order}") from None
            else:
                self.on_report(self.venue.cancel_now(SPOT.id, intent.child_id))
            self.max_open_shown = max(self.max_open_shown, self.algo.open_quantity)

    def run(self, until_ns: int) -> None:
        for event in events():
            ts = event_ts(event)
            if ts > until_ns:
                break
            self.clock.advance_to(max(ts, self.clock.now_ns()))
            replay(self.venue, [event])
            if isinstance(event, TradeTick):
                self.volume += event.quantity.value
            bid, ask = self.venue.best_prices(SPOT.id)
            market = MarketSnapshot(ts, bid, ask, Quantity(self.volume))
            if ask is not None:
                self.asks[ts] = ask.value
            self.execute(self.algo.step(ts, market))
            if self.algo.status.is_terminal:
                break


def event_ts(event: RecordedEvent) -> int:
    return event.ts_ns if isinstance(event, BookSnapshot) else event.ts_recv_ns


def first_ts() -> int:
    return event_ts(events()[0])


def vwap(trades: list[tuple[int, D, D]]) -> D:
    with localcontext(MONEY_CONTEXT):
        return sum((p * q for _, p, q in trades), D(0)) / sum((q for *_, q in trades), D(0))


def test_twap_over_five_recorded_minutes_tracks_the_market_vwap() -> None:
    start = first_ts() + 10 * S
    end = start + 300 * S
    algo = Twap(ParentSpec("twap1", SPOT, Side.BUY, Quantity("2")), start, start_ns=start,
                end_ns=end, slices=10, randomize=D("0.2"), seed=11)
    service = Service(algo)
    service.run(end + 10 * S)
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.filled == Quantity("2")
    sent_at = [t for t, _ in service.sent]
    assert all(start <= t < end for t in sent_at)
    for due in algo.schedule.times_ns:  # every slice went out within 1 s of its time
        assert any(due <= t < due + S for t in sent_at), due
    trades = raw_trades(start, end)
    market = vwap(trades)
    average = algo.average_price
    assert average is not None
    # it pays what it samples: the ask at each slice (0.2 BTC walks little depth)
    asks = [service.asks[t] for t in sent_at]
    sampled = sum(asks, D(0)) / len(asks)
    assert abs(average.value - sampled) / sampled * 10_000 < D(1)
    # and ten samples of a 45 bps range land near the volume-weighted price (7.9 bps
    # measured: TWAP weighs time, not volume)
    prices = [p for _, p, _ in trades]
    assert min(prices) <= average.value <= max(prices)
    assert abs(average.value - market) / market * 10_000 < D(10), (average, market)
    assert algo.notional == sum((f.price.value * f.quantity.value
                                 for f in service.venue.all_fills()), D(0))


def test_pov_participation_over_the_recording() -> None:
    start = first_ts() + 5 * S
    end = start + 300 * S
    rate, min_child = D("0.02"), Quantity("0.001")
    algo = Pov(ParentSpec("pov1", SPOT, Side.SELL, Quantity("50")), start, rate=rate,
               min_child=min_child, max_child=Quantity("0.5"), end_ns=end)
    service = Service(algo)
    service.run(end + S)
    assert algo.status is AlgoStatus.EXPIRED  # 50 BTC is more than 2% of 5 minutes
    trades = raw_trades(start, end)
    observed = sum((q for *_, q in trades), D(0))
    largest = max(q for *_, q in trades)
    # the algorithm saw the recorded volume from its first step to the end
    assert abs(algo.observed.value - observed) <= largest
    participation = algo.filled.value / observed
    assert algo.filled.value <= rate * algo.observed.value
    assert rate * algo.observed.value - algo.filled.value < min_child.value + rate * largest
    assert abs(participation - rate) < D("0.001"), participation
    average = algo.average_price
    assert average is not None  # following volume, it sells at the volume-weighted price
    assert abs(average.value - vwap(trades)) / vwap(trades) * 10_000 < D(2)
    assert len(service.sent) > 20


def test_twap_with_a_tight_slippage_cap_stops_on_the_recorded_move() -> None:
    start = first_ts() + 10 * S
    end = start + 300 * S
    algo = Twap(ParentSpec("slip1", SPOT, Side.SELL, Quantity("3"),
                           max_slippage_bps=D("1")), start, start_ns=start, end_ns=end,
                slices=30)
    service = Service(algo)
    service.run(end + 10 * S)
    assert algo.status is AlgoStatus.STOPPED_SLIPPAGE
    assert algo.reason is not None
    assert "bid" in algo.reason
    bound = algo.bound
    assert algo.arrival is not None
    assert bound is not None
    assert bound == Price(algo.arrival.value * D("0.9999")).quantize(
        SPOT.tick_size, "ROUND_UP")
    for fill in service.venue.all_fills():
        assert fill.price >= bound  # the protected limits held every fill inside the cap
    assert all(s.order.price == bound for _, s in service.sent)
    assert algo.filled < Quantity("3")


def test_iceberg_rests_at_the_best_bid_and_never_shows_more_than_its_piece() -> None:
    start = first_ts() + 2 * S
    service_probe = Service(Twap(ParentSpec("probe", SPOT, Side.BUY, Quantity("1")), start,
                                 start_ns=start + 10**6 * S, end_ns=start + 10**7 * S,
                                 slices=1))
    service_probe.run(start)
    bid, _ = service_probe.venue.best_prices(SPOT.id)
    assert bid is not None
    show = Quantity("0.005")
    algo = Iceberg(ParentSpec("ice1", SPOT, Side.BUY, Quantity("0.05"), limit_price=bid),
                   start, show_quantity=show)
    service = Service(algo)
    service.run(start + 340 * S)
    assert service.max_open_shown <= show
    fills = service.venue.all_fills()
    # resting pieces fill at the limit; a refill after the market fell through it
    # crosses the spread and takes the (better) ask
    assert fills
    assert all(f.price <= bid for f in fills)
    assert any(f.price == bid and f.liquidity.value == "maker" for f in fills)
    assert all(s.order.quantity <= show for _, s in service.sent)
    assert algo.filled.value == sum((f.quantity.value for f in fills), D(0))
    if algo.status is AlgoStatus.COMPLETED:
        assert algo.filled == Quantity("0.05")
        assert len(service.sent) == 10


def ftx_minute_profile() -> VolumeProfile:
    """Average share of daily volume per UTC minute over a month of real BTC-PERP bars."""
    ident = SPOT.id
    bars = []
    with (SHARED_DATA / "ohlcv" / "ftx_perp_BTC-PERP_1m.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            ts = int(row["open_time_ms"]) * 1_000_000
            bars.append(Bar(ident, Interval.M1, Price(row["open"]), Price(row["high"]),
                            Price(row["low"]), Price(row["close"]), Quantity(row["volume"]),
                            ts, ts + Interval.M1.ns))
    return VolumeProfile.from_bars(bars, Interval.M1.ns)


def test_vwap_with_a_real_minute_profile_over_the_recording() -> None:
    profile = ftx_minute_profile()
    start = first_ts() + 16 * S
    end = start + 300 * S
    algo = Vwap(ParentSpec("vwap1", SPOT, Side.BUY, Quantity("1.5")), start,
                start_ns=start, end_ns=end, slices=5, profile=profile)
    # each slice weighs the minutes it overlaps (23:54:30 to 23:59:30 UTC)
    assert algo.weights[0] == profile.weight(start, start + 60 * S)
    service = Service(algo)
    service.run(end + 10 * S)
    assert algo.status is AlgoStatus.COMPLETED
    assert algo.filled == Quantity("1.5")
    sizes = [s.order.quantity.value for _, s in service.sent]
    total = sum(algo.weights, D(0))
    assert len(sizes) == 5
    for size, weight in zip(sizes, algo.weights, strict=True):
        assert abs(size - D("1.5") * weight / total) <= D("0.00002")  # lot floors
    assert len(set(sizes)) > 1  # the real profile is not flat
    average, market = algo.average_price, vwap(raw_trades(start, end))
    assert average is not None
    assert abs(average.value - market) / market * 10_000 < D(10)
