"""Book-less modes: trades only (fills at the next trade) and quotes only (top of book)."""

from __future__ import annotations

from decimal import Decimal

from argosy.kernel.messages import QuoteTick
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import Liquidity, OrderStatus
from tests.unit.venues.paper._paper import SPOT, MakeVenue, order, trade

D = Decimal


def quote(bid: str, bid_qty: str, ask: str, ask_qty: str, ts: int) -> QuoteTick:
    return QuoteTick(SPOT.id, Price(bid), Quantity(bid_qty), Price(ask), Quantity(ask_qty), ts,
                     ts)


def test_trade_mode_market_orders_fill_at_the_next_trade(make_venue: MakeVenue) -> None:
    venue = make_venue(book=False)
    venue.on_trade(trade("100", "0.1", "buy", 2))
    sent = venue.submit_now(order("buy", "market", "0.5"))
    assert sent.status is OrderStatus.ACCEPTED
    venue.on_trade(trade("100.5", "0.01", "sell", 3))
    assert [(f.price.to_str(), f.quantity.to_str(), f.liquidity, f.ts_ns)
            for f in venue.all_fills()] == [("100.5", "0.5", Liquidity.TAKER, 3)]


def test_trade_mode_limits_fill_from_trades_at_their_price(make_venue: MakeVenue) -> None:
    venue = make_venue(book=False)
    venue.on_trade(trade("100", "0.1", "buy", 2))
    venue.submit_now(order("sell", "limit", "0.5", "101"))
    venue.on_trade(trade("101", "0.2", "buy", 3))  # no book: nothing queued ahead
    venue.on_trade(trade("101.5", "0.01", "buy", 4))  # through our price: the rest
    assert [(f.price.to_str(), f.quantity.to_str(), f.liquidity)
            for f in venue.all_fills()] == [("101", "0.2", Liquidity.MAKER),
                                            ("101", "0.3", Liquidity.MAKER)]


def test_quotes_alone_make_a_one_level_book(make_venue: MakeVenue) -> None:
    venue = make_venue(book=False)
    venue.on_quote(quote("100", "1", "101", "0.3", 2))
    venue.on_quote(quote("100.2", "1", "101.1", "0.4", 3))  # replaces, no stale depth
    report = venue.submit_now(order("buy", "market", "1"))
    assert report.status is OrderStatus.EXPIRED
    assert [(f.price.to_str(), f.quantity.to_str()) for f in report.fills] == [("101.1", "0.4")]


def test_quote_over_depth_trims_better_levels_and_can_fill_a_bid(make_venue: MakeVenue) -> None:
    venue = make_venue()  # bids 100/99/98, asks 101/102/103
    resting = venue.submit_now(order("buy", "limit", "0.5", "100.5"))
    venue.on_quote(quote("99", "5", "102", "1", 2))  # 100 bid and 101 ask are gone
    assert venue.best_prices(SPOT.id) == (Price("99"), Price("102"))
    report = venue.submit_now(order("buy", "market", "1.5"))
    assert [(f.price.to_str(), f.quantity.to_str()) for f in report.fills] == [
        ("102", "1"), ("103", "0.5")]
    venue.on_quote(quote("99", "5", "100.5", "2", 3))  # an ask onto our bid
    found = venue._known(SPOT.id, resting.client_order_id)
    assert found is not None
    assert found.status is OrderStatus.FILLED
    assert found.fills[0].price.value == D("100.5")
