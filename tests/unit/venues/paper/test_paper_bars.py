"""Bar mode: the documented fill rule the backtester and the peers share."""

from __future__ import annotations

from decimal import Decimal

import pytest

from argosy.kernel.errors import VenueRejected
from argosy.kernel.messages import Bar, Interval
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import Liquidity, OrderStatus
from argosy.venues.paper.venue import PaperVenue
from tests.unit.venues.paper._paper import SPOT, MakeVenue, order

D = Decimal
MINUTE = 60_000_000_000


def bar(i: int, o: str, h: str, low: str, c: str) -> Bar:
    start = 10 * MINUTE + i * MINUTE
    return Bar(SPOT.id, Interval.M1, Price(o), Price(h), Price(low), Price(c), Quantity("10"),
               start, start + MINUTE)


def fills(venue: PaperVenue) -> list[tuple[str, str, Liquidity, int]]:
    return [(f.price.to_str(), f.quantity.to_str(), f.liquidity, f.ts_ns)
            for f in venue.all_fills()]


def test_without_any_market_data_a_buy_cannot_be_valued(make_venue: MakeVenue) -> None:
    with pytest.raises(VenueRejected) as caught:
        make_venue(book=False).submit_now(order("buy", "market", "1"))
    assert caught.value.code == "no_market_data"


def test_market_order_fills_at_the_next_open(make_venue: MakeVenue) -> None:
    venue = make_venue(book=False)
    venue.on_bar(bar(0, "100", "101", "99", "100"))
    sent = venue.submit_now(order("buy", "market", "1"))
    assert sent.status is OrderStatus.ACCEPTED
    assert not sent.fills
    venue.on_bar(bar(1, "102", "103", "101", "102"))
    assert fills(venue) == [("102", "1", Liquidity.TAKER, 11 * MINUTE)]
    fee = D(102) * D("0.0005")
    assert venue.balance_detail()["USDT"] == (D(100000) - 102 - fee, D(0))


def test_limit_fills_when_the_bar_reaches_it_or_at_a_better_open(make_venue: MakeVenue) -> None:
    venue = make_venue(book=False)
    venue.on_bar(bar(0, "100", "101", "99.5", "100"))
    venue.submit_now(order("buy", "limit", "1", "99"))
    venue.submit_now(order("sell", "limit", "0.5", "104"))
    venue.on_bar(bar(1, "100", "101", "99.01", "100"))  # not reached
    assert fills(venue) == []
    venue.on_bar(bar(2, "100", "100.5", "98.5", "99"))
    venue.on_bar(bar(3, "105", "106", "104.5", "105"))  # gaps over the sell: the open
    assert fills(venue) == [("99", "1", Liquidity.MAKER, 13 * MINUTE),
                            ("105", "0.5", Liquidity.MAKER, 13 * MINUTE)]


def test_stops_fill_at_the_stop_or_at_a_gapped_open(make_venue: MakeVenue) -> None:
    venue = make_venue(book=False)
    venue.on_bar(bar(0, "100", "101", "99", "100"))
    venue.submit_now(order("buy", "stop_market", "1", stop="102"))
    venue.submit_now(order("sell", "stop_market", "0.5", stop="95"))
    venue.on_bar(bar(1, "100", "103", "99", "101"))
    venue.on_bar(bar(2, "93", "94", "92", "93"))
    assert fills(venue) == [("102", "1", Liquidity.TAKER, 12 * MINUTE),
                            ("93", "0.5", Liquidity.TAKER, 12 * MINUTE)]


def test_path_visits_the_nearer_extreme_first(make_venue: MakeVenue) -> None:
    venue = make_venue(book=False)
    venue.on_bar(bar(0, "100", "100", "100", "100"))
    venue.submit_now(order("buy", "stop_limit", "1", "104", stop="104"))
    venue.submit_now(order("sell", "limit", "1", "104.5"))
    # O=100 H=105 L=99: high nearer? 5 vs 1 -> low first, then high: stop at 104 triggers,
    # the limit then fills at 104 on the way up, and the sell at 104.5 after it.
    venue.on_bar(bar(1, "100", "105", "99", "101"))
    assert [f[:3] for f in fills(venue)] == [("104", "1", Liquidity.TAKER),
                                             ("104.5", "1", Liquidity.MAKER)]


def test_ioc_in_bar_mode_expires_when_the_open_misses(make_venue: MakeVenue) -> None:
    venue = make_venue(book=False)
    venue.on_bar(bar(0, "100", "100", "100", "100"))
    sent = venue.submit_now(order("buy", "limit", "1", "99", tif="ioc"))
    venue.on_bar(bar(1, "100", "100", "98", "99"))
    found = venue._known(SPOT.id, sent.client_order_id)
    assert found is not None
    assert found.status is OrderStatus.EXPIRED
    assert venue.balance_detail()["USDT"] == (D(100000), D(0))
