"""Resting orders: the queue ahead, how trades and cancels move it, and crossing fills."""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.clock import SimClock
from argosy.kernel.orders import Liquidity, OrderStatus
from argosy.venues.paper._order import LiveOrder
from argosy.venues.paper.venue import PaperVenue
from tests.unit.venues.paper._paper import SPOT, MakeVenue, delta, order, trade

D = Decimal


def rest(venue: PaperVenue, side: str, qty: str, price: str) -> LiveOrder:
    sent = venue.submit_now(order(side, "limit", qty, price))
    found = venue._known(SPOT.id, sent.client_order_id)
    assert found is not None
    assert found.status is OrderStatus.ACCEPTED
    return found


def test_queue_ahead_is_the_level_size_at_entry(make_venue: MakeVenue) -> None:
    venue = make_venue()
    assert rest(venue, "buy", "1", "99").ahead == 2
    assert rest(venue, "buy", "1", "99.5").ahead == 0  # a new level: first in line
    assert rest(venue, "sell", "0.5", "103").ahead == 3


def test_trades_at_the_price_eat_the_queue_then_fill(make_venue: MakeVenue, clock: SimClock
                                                     ) -> None:
    venue = make_venue()
    o = rest(venue, "buy", "1", "99")
    ts = clock.now_ns()
    venue.on_trade(trade("99", "1.5", "sell", ts + 1))
    assert o.ahead == D("0.5")
    assert o.filled == 0
    venue.on_trade(trade("99", "0.8", "sell", ts + 2))  # 0.5 ahead, then 0.3 to us
    assert o.ahead == 0
    assert o.filled == D("0.3")
    assert o.status is OrderStatus.PARTIALLY_FILLED
    venue.on_trade(trade("99", "0.1", "buy", ts + 3))  # a buyer lifting asks: not ours
    assert o.filled == D("0.3")
    venue.on_trade(trade("99", "5", "sell", ts + 4))
    assert o.remaining == 0
    assert o.status.value == "filled"
    assert [(f.price.to_str(), f.quantity.to_str(), f.liquidity) for f in o.fills] == [
        ("99", "0.3", Liquidity.MAKER), ("99", "0.7", Liquidity.MAKER)]
    assert o.fills[0].fee.value == D("99") * D("0.3") * D("0.0001")


def test_two_own_orders_keep_time_priority(make_venue: MakeVenue, clock: SimClock) -> None:
    venue = make_venue()
    first = rest(venue, "buy", "1", "99")
    second = rest(venue, "buy", "1", "99")
    assert first.ahead == second.ahead == 2  # the public level; ours are FIFO behind it
    venue.on_trade(trade("99", "3.5", "sell", clock.now_ns() + 1))
    assert first.filled == 1
    assert second.filled == D("0.5")


def test_trade_through_the_price_fills_completely(make_venue: MakeVenue, clock: SimClock
                                                  ) -> None:
    venue = make_venue()
    o = rest(venue, "buy", "1", "99")
    venue.on_trade(trade("98.5", "0.01", "sell", clock.now_ns() + 1))
    assert o.status is OrderStatus.FILLED
    assert o.fills[0].price.value == 99


def test_opposite_quote_onto_our_price_fills_as_maker(make_venue: MakeVenue, clock: SimClock
                                                      ) -> None:
    venue = make_venue()
    o = rest(venue, "buy", "1", "100.5")
    venue.on_book_delta(delta("sell", "100.6", "1", clock.now_ns() + 1))
    assert o.filled == 0
    venue.on_book_delta(delta("sell", "100.5", "1", clock.now_ns() + 2))
    assert o.status is OrderStatus.FILLED
    assert (o.fills[0].price.value, o.fills[0].liquidity) == (D("100.5"), Liquidity.MAKER)


def test_conservative_model_moves_only_when_the_level_shrinks_below(make_venue: MakeVenue,
                                                                    clock: SimClock) -> None:
    venue = make_venue(queue_model="conservative")
    o = rest(venue, "buy", "1", "98")  # level 98 has 3
    ts = clock.now_ns()
    venue.on_book_delta(delta("buy", "98", "2.5", ts + 1))
    assert o.ahead == D("2.5")
    venue.on_book_delta(delta("buy", "98", "4", ts + 2))  # joiners are behind us
    assert o.ahead == D("2.5")
    venue.on_book_delta(delta("buy", "98", "0", ts + 3))
    assert o.ahead == 0
    assert o.filled == 0
    venue.on_trade(trade("98", "0.4", "sell", ts + 4))
    assert o.filled == D("0.4")


def test_proportional_model_shares_cancels_not_trades(make_venue: MakeVenue, clock: SimClock
                                                      ) -> None:
    venue = make_venue(queue_model="proportional")
    ts = clock.now_ns()
    o = rest(venue, "buy", "1", "98")  # ahead 3
    venue.on_book_delta(delta("buy", "98", "5", ts + 1))  # 2 join behind us: ahead 3 of 5
    venue.on_book_delta(delta("buy", "98", "4", ts + 2))  # 1 cancelled: 3/5 of it was ahead
    assert o.ahead == D("2.4")
    venue.on_trade(trade("98", "1", "sell", ts + 3))
    assert o.ahead == D("1.4")
    venue.on_book_delta(delta("buy", "98", "3", ts + 4))  # the trade, not a cancel
    assert o.ahead == D("1.4")


def test_snapshot_caps_the_queue_and_can_cross(make_venue: MakeVenue, clock: SimClock) -> None:
    from argosy.kernel.money import Price, Quantity

    venue = make_venue()
    o = rest(venue, "buy", "1", "99")
    sell = rest(venue, "sell", "1", "104")
    venue.on_book_snapshot(SPOT.id, [(Price("99"), Quantity("0.5"))],
                           [(Price("103.9"), Quantity("1"))], clock.now_ns() + 1)
    assert o.ahead == D("0.5")
    assert sell.filled == 0
    venue.on_book_snapshot(SPOT.id, [(Price("104"), Quantity("1"))],
                           [(Price("105"), Quantity("1"))], clock.now_ns() + 2)
    assert sell.status is OrderStatus.FILLED
    assert sell.fills[0].price.value == 104
