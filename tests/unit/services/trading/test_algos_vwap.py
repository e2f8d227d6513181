"""VWAP: the volume profile learned from REAL bars, and slices that follow it.

Bars are read verbatim from ../shared/data/ohlcv (Binance USD-M XRPUSDT 5m, a week of
November 2021); the expected profile is computed here with plain dicts and floats-free
Decimal sums, independently of `VolumeProfile`.
"""

from __future__ import annotations

import csv
import functools
from collections import defaultdict
from decimal import Decimal as D  # noqa: N817  (amounts read better short)
from decimal import localcontext
from pathlib import Path

import pytest

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import Instrument, InstrumentId, InstrumentKind
from argosy.kernel.messages import Bar, Interval, Side
from argosy.kernel.money import MONEY_CONTEXT, Money, Price, Quantity
from argosy.kernel.orders import ExecutionReport, OrderStatus
from argosy.services.trading.domain.algos import (
    AlgoStatus,
    MarketSnapshot,
    ParentSpec,
    SubmitChild,
    VolumeProfile,
    Vwap,
)
from argosy.services.trading.domain.algos.schedule import DAY_NS
from tests.support.binance_data import SHARED_DATA

XRP = Instrument("binance", "XRPUSDT", "XRP", "USDT", InstrumentKind.PERP, Price("0.0001"),
                 Quantity("0.1"), Quantity("0.1"), Money("5", "USDT"))
H = 3600 * 1_000_000_000


@pytest.fixture(autouse=True)
def _data(shared_data: Path) -> Path:
    return shared_data


@functools.cache
def rows() -> list[dict[str, str]]:
    with (SHARED_DATA / "ohlcv" / "binance_usdm_XRPUSDT_5m.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def bars() -> list[Bar]:
    ident = InstrumentId("XRP", "USDT", InstrumentKind.PERP, "binance")
    out = []
    for row in rows():
        ts = int(row["open_time_ms"]) * 1_000_000
        out.append(Bar(ident, Interval.M5, Price(row["open"]), Price(row["high"]),
                       Price(row["low"]), Price(row["close"]), Quantity(row["volume"]),
                       ts, ts + Interval.M5.ns))
    return out


def hand_profile() -> list[D]:
    """Per UTC day, each hour's share of that day's volume; averaged over the days."""
    per_day: dict[int, dict[int, D]] = defaultdict(lambda: defaultdict(D))
    for row in rows():
        ms = int(row["open_time_ms"])
        per_day[ms // 86_400_000][ms % 86_400_000 // 3_600_000] += D(row["volume"])
    with localcontext(MONEY_CONTEXT):
        shares = [D(0)] * 24
        for hours in per_day.values():
            total = sum(hours.values(), D(0))
            for hour, volume in hours.items():
                shares[hour] += volume / total
        return [s / len(per_day) for s in shares]


def test_profile_is_the_average_hourly_share_of_daily_volume() -> None:
    profile = VolumeProfile.from_bars(bars(), H)
    assert list(profile.shares) == hand_profile()
    assert abs(sum(profile.shares, D(0)) - 1) < D("1e-25")  # 38-digit quotients
    assert max(profile.shares) > 2 * min(profile.shares)  # real days are not flat
    # a window's weight is the overlap-weighted sum of the hours it covers
    assert profile.weight(0, 2 * H) == MONEY_CONTEXT.add(profile.shares[0], profile.shares[1])
    assert profile.weight(H // 2, H) == MONEY_CONTEXT.divide(profile.shares[0], 2)
    assert profile.weight(DAY_NS + 3 * H, DAY_NS + 4 * H) == profile.shares[3]


def test_vwap_slices_follow_the_profile() -> None:
    profile = VolumeProfile.from_bars(bars(), H)
    start = 1_700_000_000 * 1_000_000_000 // DAY_NS * DAY_NS  # a midnight UTC
    algo = Vwap(ParentSpec("vw1", XRP, Side.BUY, Quantity("24000")), start, start_ns=start,
                end_ns=start + DAY_NS, slices=24, profile=profile)
    assert all(abs(w - s) < D("1e-30") for w, s in zip(algo.weights, profile.shares,
                                                       strict=True))
    targets = [q.value for q in algo.schedule.targets]
    sizes = [b - a for a, b in zip([D(0), *targets], targets, strict=False)]
    for size, share in zip(sizes[:-1], profile.shares, strict=False):
        assert abs(size - 24000 * share) <= D("0.2")  # floor to the 0.1 lot, twice
    assert targets[-1] == 24000
    # busiest hour gets the biggest child
    busiest = max(range(24), key=lambda h: profile.shares[h])
    assert sizes[busiest] == max(sizes)


def test_vwap_runs_its_slices_and_completes() -> None:
    profile = VolumeProfile.from_bars(bars(), H)
    start = 1_700_000_000 * 1_000_000_000 // DAY_NS * DAY_NS
    algo = Vwap(ParentSpec("vw2", XRP, Side.SELL, Quantity("500")), start, start_ns=start,
                end_ns=start + 4 * H, slices=4, profile=profile)
    t, sent = start, []
    while not algo.status.is_terminal:
        for intent in algo.step(t, MarketSnapshot(t, Price("1.1"), Price("1.1001"))):
            assert isinstance(intent, SubmitChild)
            sent.append(intent.order.quantity)
            algo.on_report(ExecutionReport(intent.child_id, "v", XRP.id, OrderStatus.FILLED,
                                           intent.order.quantity, Price("1.1"), t))
        wake = algo.wake_at_ns(t)
        assert wake is not None or algo.status.is_terminal
        t = wake or t
    assert algo.status is AlgoStatus.COMPLETED
    assert sum(sent, Quantity(0)) == Quantity("500")
    assert len(sent) == 4


def test_profile_needs_volume_and_a_bucket_that_divides_a_day() -> None:
    with pytest.raises(Invalid) as info:
        VolumeProfile.from_bars(bars(), 7 * 60 * 1_000_000_000)
    assert info.value.field == "bucket_ns"
    with pytest.raises(Invalid) as info:
        VolumeProfile.from_bars([], H)
    assert info.value.field == "bars"
