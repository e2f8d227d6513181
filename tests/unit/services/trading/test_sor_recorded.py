"""SOR over REAL recorded Binance BTCUSDT depth: spot and USD-M books seconds apart.

The two REST snapshots (../shared/data/book, 2024-08-08 23:54:14/15 UTC, 1000 levels a side)
stand for two venues quoting the same asset. Expectations are computed here by a naive
merge of the raw JSON levels, independently of the router.
"""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817  (amounts read better short)
from decimal import localcontext
from pathlib import Path

import pytest

from argosy.kernel.messages import Side
from argosy.kernel.money import MONEY_CONTEXT, Price, Quantity
from argosy.services.trading.domain.sor import RouteRequest, VenueBook, route
from tests.support.binance_data import rest_snapshots

# (file, taker fee bps, latency ms, lot, tick, min notional): Binance's spot and USD-M
# filters for BTCUSDT and their default taker fees.
VENUES = {
    "spot": ("binance_spot_BTCUSDT_rest_depth_snapshots.jsonl", "10", "20", "0.00001",
             "0.01", "5"),
    "usdm": ("binance_usdm_BTCUSDT_rest_depth_snapshots.jsonl", "5", "5", "0.001", "0.1",
             "100"),
}
PENALTY = D("0.1")


@pytest.fixture(autouse=True)
def _data(shared_data: Path) -> Path:
    return shared_data


def raw_levels(name: str, side: Side) -> list[tuple[D, D]]:
    msg = rest_snapshots(VENUES[name][0])[0]["msg"]
    return [(D(p), D(q)) for p, q in msg["asks" if side is Side.BUY else "bids"]]


def books(side: Side) -> list[VenueBook]:
    return [VenueBook(name, [(Price(p), Quantity(q)) for p, q in raw_levels(name, side)],
                      D(fee), D("2"), D(latency), D(10**12), Quantity(lot), Price(tick),
                      Quantity(lot), D(min_notional))
            for name, (_, fee, latency, lot, tick, min_notional) in VENUES.items()]


def naive_merge(side: Side, quantity: D) -> tuple[dict[str, D], D]:
    """Continuous optimum by hand: every level of both files sorted by effective price."""
    with localcontext(MONEY_CONTEXT):
        chunks = []
        for name, (_, fee, latency, *_rest) in VENUES.items():
            extra = (D(fee) + PENALTY * D(latency)) / 10_000
            for price, size in raw_levels(name, side):
                unit = price * (1 + extra) if side is Side.BUY else -price * (1 - extra)
                chunks.append((unit, name, size))
        chunks.sort()
        taken = {name: D(0) for name in VENUES}
        cost, want = D(0), quantity
        for unit, name, size in chunks:
            take = min(size, want)
            taken[name] += take
            cost += unit * take
            want -= take
            if not want:
                break
        return taken, cost


@pytest.mark.parametrize(("side", "size"), [(Side.BUY, "25"), (Side.SELL, "40"),
                                            (Side.SELL, "80"), (Side.BUY, "0.5")])
def test_split_matches_the_hand_merge_and_beats_each_venue(side: Side, size: str) -> None:
    request = RouteRequest(side, Quantity(size), None, PENALTY)
    plan = route(request, books(side))
    hand_shares, hand_cost = naive_merge(side, D(size))
    assert plan.routed == Quantity(size)
    got = {a.venue: a.quantity.value for a in plan.allocations}
    for name, qty in hand_shares.items():
        # lot rounding moves at most one coarse lot between the venues
        assert abs(got.get(name, D(0)) - qty) <= D("0.001"), (name, got, hand_shares)
    # the lot-rounded plan costs at least the continuous optimum, and barely more
    assert hand_cost <= plan.all_in_cost <= hand_cost + abs(hand_cost) * D("0.000001")
    for single in books(side):
        alone = route(request, [single])
        assert alone.routed == plan.routed  # each book alone is deep enough
        assert plan.all_in_cost <= alone.all_in_cost
    if all(hand_shares.values()):  # the hand merge uses both books: so must the router
        assert len(plan.allocations) == 2
        assert plan.strategy == "split"
        assert plan.savings_vs_best_single is not None
        assert plan.savings_vs_best_single > 0
    else:  # the perp book is 37 USDT cheaper: a buy all goes there
        assert [a.venue for a in plan.allocations] == ["usdm"]


def test_limits_sent_to_each_venue_cover_the_levels_walked() -> None:
    plan = route(RouteRequest(Side.BUY, Quantity("25"), None, PENALTY), books(Side.BUY))
    for alloc in plan.allocations:
        walked = [p for p, _ in raw_levels(alloc.venue, Side.BUY)][:alloc.levels_used]
        assert alloc.limit_price.value >= walked[-1]
        assert alloc.average_price.value <= alloc.limit_price.value
        assert abs(alloc.quantity.value * alloc.average_price.value - alloc.notional) \
            < D("1e-12")
