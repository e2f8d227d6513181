"""Smart order routing: hand-computed plans, constraints, and "never worse than one venue"."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817  (amounts read better short)

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argosy.kernel.errors import Invalid
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.services.trading.domain.sor import RoutePlan, RouteRequest, VenueBook, route


def book(name: str, levels: list[tuple[str, str]], *, fee: str = "10", latency: str = "0",
         available: str = "1000000000", lot: str = "0.001", tick: str = "0.01",
         min_qty: str = "0", min_notional: str = "0") -> VenueBook:
    return VenueBook(name, [(Price(p), Quantity(q)) for p, q in levels], D(fee), D("2"),
                     D(latency), D(available), Quantity(lot), Price(tick), Quantity(min_qty),
                     D(min_notional))


def buy(qty: str, limit: str | None = None, penalty: str = "0.1") -> RouteRequest:
    return RouteRequest(Side.BUY, Quantity(qty), None if limit is None else Price(limit),
                        D(penalty))


def shares(plan: RoutePlan) -> dict[str, str]:
    return {a.venue: a.quantity.to_str() for a in plan.allocations}


def test_greedy_merge_by_fee_adjusted_price_hand_computed() -> None:
    a = book("a", [("100", "1"), ("101", "5")], fee="10")
    b = book("b", [("100.05", "2"), ("102", "5")], fee="2")
    plan = route(buy("3"), [a, b])
    # effective: b 100.05*1.0002=100.07001 < a 100*1.001=100.1 < a 101.101 < b 102.0204
    assert shares(plan) == {"b": "2", "a": "1"}
    assert plan.all_in_cost == D("100.05") * 2 * D("1.0002") + D("100") * D("1.001")
    first, second = plan.allocations
    assert first.venue == "b"
    assert first.fees == D("200.10") * D("0.0002")
    assert first.limit_price == Price("100.05")
    assert first.levels_used == 1
    assert second.average_price == Price("100")
    assert plan.routed == Quantity("3")
    assert plan.unrouted.is_zero()
    assert plan.strategy == "split"
    # alone, b (2 x 100.07001 + 102.0204) beats a (100.1 + 2 x 101.101); the split beats both
    assert plan.best_single_venue == "b"
    assert plan.savings_vs_best_single == 2 * D("100.05") * D("1.0002") + D("102") * D(
        "1.0002") - plan.all_in_cost
    assert plan.savings_vs_best_single is not None
    assert plan.savings_vs_best_single > 0


def test_latency_penalty_moves_flow_to_the_faster_venue() -> None:
    a = book("a", [("100", "1"), ("101", "5")], fee="10")
    b = book("b", [("100.05", "2"), ("102", "5")], fee="2", latency="50")
    plan = route(buy("1", penalty="0.1"), [a, b])  # b pays 5 bps more: 100.12
    assert shares(plan) == {"a": "1"}
    assert plan.allocations[0].latency_penalty == 0
    cheap_latency = route(buy("1", penalty="0"), [a, b])
    assert shares(cheap_latency) == {"b": "1"}
    assert any("b unused" in note for note in plan.notes)


def test_sell_side_maximises_proceeds_and_limit_protects() -> None:
    a = book("a", [("99", "1"), ("98", "5")], fee="10")
    b = book("b", [("99.5", "1"), ("97", "5")], fee="10")
    plan = route(RouteRequest(Side.SELL, Quantity("3"), Price("98"), D(0)), [a, b])
    assert shares(plan) == {"b": "1", "a": "2"}
    proceeds = (D("99.5") + D("99") + D("98")) * D("0.999")
    assert plan.all_in_cost == -proceeds
    a_alloc = next(x for x in plan.allocations if x.venue == "a")
    assert a_alloc.limit_price == Price("98")
    assert a_alloc.levels_used == 2
    limited = route(RouteRequest(Side.SELL, Quantity("10"), Price("98.5"), D(0)), [a, b])
    assert limited.routed == Quantity("2")
    assert limited.unrouted == Quantity("8")
    assert any("not routed" in note for note in limited.notes)


def test_lot_rounding_replaces_the_remainder_on_the_next_cheapest_lot() -> None:
    coarse = book("coarse", [("100", "0.75")], fee="0", lot="0.5")
    fine = book("fine", [("100.2", "10")], fee="0", lot="0.001")
    plan = route(buy("1.2", penalty="0"), [coarse, fine])
    # greedy takes 0.75 on coarse (rounds to 0.5); the 0.7 shortfall goes to fine
    assert shares(plan) == {"coarse": "0.5", "fine": "0.7"}
    assert all(a.quantity.is_multiple_of(Quantity("0.5" if a.venue == "coarse" else "0.001"))
               for a in plan.allocations)


def test_balance_caps_a_venue_including_its_fee() -> None:
    a = book("a", [("100", "10")], fee="0", available="250")
    b = book("b", [("101", "10")], fee="0")
    plan = route(buy("5", penalty="0"), [a, b])
    assert shares(plan) == {"a": "2.5", "b": "2.5"}
    capped = book("a", [("100", "10")], fee="10", available="250")
    plan = route(buy("5", penalty="0"), [capped, b])
    a_alloc = next(x for x in plan.allocations if x.venue == "a")
    assert a_alloc.notional + a_alloc.fees <= D(250)
    assert a_alloc.quantity == Quantity("2.497")  # 250 / 100.1, down to the lot


def test_share_below_min_notional_is_dropped_and_rerouted() -> None:
    a = book("a", [("100", "0.02"), ("200", "10")], fee="0", min_notional="5")
    b = book("b", [("101", "10")], fee="0")
    plan = route(buy("1", penalty="0"), [a, b])
    assert shares(plan) == {"b": "1"}  # a's 0.02 share is 2 USDT < 5
    assert any("a dropped" in n and "min notional" in n for n in plan.notes)


def test_bad_input_names_the_field() -> None:
    with pytest.raises(Invalid) as info:
        route(buy("1"), [])
    assert info.value.field == "venues"
    with pytest.raises(Invalid) as info:
        route(buy("1"), [book("a", []), book("a", [])])
    assert info.value.field == "venues"
    with pytest.raises(Invalid) as info:
        RouteRequest(Side.BUY, Quantity(0))
    assert info.value.field == "quantity"


def test_plan_serialises_with_decimal_strings() -> None:
    plan = route(buy("3"), [book("a", [("100", "1"), ("101", "5")]),
                            book("b", [("100.05", "2")], fee="2")])
    body = plan.to_dict()
    assert body["requested"] == "3"
    assert body["routed"] == "3"
    allocations = body["allocations"]
    assert isinstance(allocations, list)
    assert allocations[0]["venue"] == "b"
    assert allocations[0]["quantity"] == "2"
    assert "taker fee 2 bps" in allocations[0]["reason"]
    assert isinstance(body["all_in_cost"], str)


# -- properties -------------------------------------------------------------------------

prices = st.integers(min_value=9_000, max_value=11_000)
sizes = st.integers(min_value=1, max_value=5_000)


@st.composite
def venue_books(draw: st.DrawFn, side: Side) -> list[VenueBook]:
    venues = []
    for i in range(draw(st.integers(min_value=1, max_value=4))):
        raw = sorted(set(draw(st.lists(prices, min_size=1, max_size=8))),
                     reverse=side is Side.SELL)
        lot = draw(st.sampled_from(["0.001", "0.01", "0.1"]))
        levels = [(f"{p / 100:.2f}", str(D(draw(sizes)) * D(lot))) for p in raw]
        venues.append(book(
            f"v{i}", levels, fee=str(draw(st.integers(0, 20))),
            latency=str(draw(st.integers(0, 100))), lot=lot,
            available=str(draw(st.sampled_from([50, 500, 5_000, 10**9]))),
            min_notional=str(draw(st.sampled_from([0, 5, 50])))))
    return venues


@settings(max_examples=150, deadline=None)
@given(data=st.data(), side=st.sampled_from(list(Side)),
       qty=st.integers(min_value=1, max_value=20_000))
def test_plan_never_worse_than_the_best_single_venue(data: st.DataObject, side: Side,
                                                     qty: int) -> None:
    books = data.draw(venue_books(side))
    request = RouteRequest(side, Quantity(D(qty) / 1000), None, D("0.05"))
    plan = route(request, books)
    by_name = {b.venue: b for b in books}
    assert plan.routed <= request.quantity
    assert sum((a.quantity for a in plan.allocations), Quantity(0)) == plan.routed
    for alloc in plan.allocations:
        venue = by_name[alloc.venue]
        assert alloc.quantity.is_multiple_of(venue.lot_size)
        assert alloc.notional >= venue.min_notional
        assert alloc.limit_price.is_multiple_of(venue.tick_size)
        spend = alloc.notional + alloc.fees if side is Side.BUY else alloc.quantity.value
        assert spend <= venue.available
    assert plan.all_in_cost == sum((a.all_in_cost for a in plan.allocations), D(0))
    for single in books:
        alone = route(request, [single])
        assert plan.routed >= alone.routed
        if plan.routed == alone.routed:
            assert plan.all_in_cost <= alone.all_in_cost


def test_a_fine_lot_fills_a_coarse_lot_shortfall_level_by_level() -> None:
    coarse = book("coarse", [("100", "10.5")], fee="0", lot="1")
    fine = book("fine", [("100.1", "0.3"), ("100.2", "5")], fee="0", lot="0.00001")
    plan = route(buy("10.7", penalty="0"), [coarse, fine])
    # 10.5 rounds down to 10 on coarse; the 0.7 left walks fine's two levels (70000 lots)
    assert shares(plan) == {"coarse": "10", "fine": "0.7"}
    fine_alloc = next(a for a in plan.allocations if a.venue == "fine")
    assert fine_alloc.notional == D("0.3") * D("100.1") + D("0.4") * D("100.2")
    assert fine_alloc.limit_price == Price("100.2")
