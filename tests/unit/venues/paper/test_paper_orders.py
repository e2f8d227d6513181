"""Each order type and time in force against a small known book (bids 100/99/98, asks
101/102/103 with sizes 1/2/3), fees 1 bps maker / 5 bps taker."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.clock import SimClock
from argosy.kernel.errors import VenueRejected
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import ExecutionReport, Liquidity, OrderStatus
from tests.unit.venues.paper._paper import SPOT, MakeVenue, delta, order, trade

D = Decimal


def prices(report: ExecutionReport) -> list[tuple[str, str]]:
    return [(f.price.to_str(), f.quantity.to_str()) for f in report.fills]


def test_market_buy_walks_the_levels_and_pays_taker_fees(make_venue: MakeVenue) -> None:
    venue = make_venue()
    report = venue.submit_now(order("buy", "market", "2.5"))
    assert report.status is OrderStatus.FILLED
    assert prices(report) == [("101", "1"), ("102", "1.5")]
    assert report.average_price == Price("101.6")  # (101 + 153) / 2.5
    assert [f.liquidity for f in report.fills] == [Liquidity.TAKER] * 2
    assert report.fills[0].fee == Quantity("0.0505")  # 101 * 5 bps
    cost = D("254") + D("254") * D("0.0005")
    assert venue.balance_detail()["USDT"] == (D(100000) - cost, D(0))
    assert venue.balance_detail()["BTC"] == (D("3.5"), D(0))


def test_taken_liquidity_is_gone_until_the_venue_updates_the_level(make_venue: MakeVenue,
                                                                     clock: SimClock) -> None:
    venue = make_venue()
    venue.submit_now(order("buy", "market", "1"))
    second = venue.submit_now(order("buy", "market", "1"))
    assert prices(second) == [("102", "1")]  # 101 was taken by the first order
    venue.on_book_delta(delta("sell", "101", "4", clock.now_ns()))
    assert prices(venue.submit_now(order("buy", "market", "1"))) == [("101", "1")]


def test_market_order_beyond_the_book_expires_the_rest(make_venue: MakeVenue) -> None:
    report = make_venue().submit_now(order("sell", "market", "0.5", inst=SPOT))
    assert report.status is OrderStatus.FILLED
    big = make_venue(balances={"BTC": "10", "USDT": "0"}).submit_now(order("sell", "market", "7"))
    assert big.status is OrderStatus.EXPIRED
    assert big.filled_quantity == Quantity("6")
    assert big.reason == "book liquidity exhausted"


def test_crossing_limit_takes_then_rests_the_remainder(make_venue: MakeVenue) -> None:
    venue = make_venue()
    report = venue.submit_now(order("buy", "limit", "2", "101.5"))
    assert report.status is OrderStatus.PARTIALLY_FILLED
    assert prices(report) == [("101", "1")]
    assert venue.balance_detail()["USDT"][1] == D("101.5") * 1 * (1 + D("0.0005"))


def test_ioc_cancels_the_rest_and_fok_is_all_or_nothing(make_venue: MakeVenue) -> None:
    venue = make_venue()
    ioc = venue.submit_now(order("buy", "limit", "2", "101", tif="ioc"))
    assert ioc.status is OrderStatus.EXPIRED
    assert ioc.filled_quantity == Quantity("1")
    fok = venue.submit_now(order("buy", "limit", "3", "102", tif="fok"))
    assert fok.status is OrderStatus.EXPIRED
    assert fok.filled_quantity == Quantity("0")
    assert "fill-or-kill" in (fok.reason or "")
    fok2 = venue.submit_now(order("buy", "limit", "2", "102", tif="fok"))
    assert fok2.status is OrderStatus.FILLED
    assert prices(fok2) == [("102", "2")]
    assert venue.balance_detail()["USDT"][1] == 0  # nothing left locked


def test_post_only_is_rejected_when_it_would_take(make_venue: MakeVenue) -> None:
    venue = make_venue()
    with pytest.raises(VenueRejected) as caught:
        venue.submit_now(order("buy", "post_only", "1", "101"))
    assert caught.value.code == "post_only_would_take"
    resting = venue.submit_now(order("buy", "post_only", "1", "100.5"))
    assert resting.status is OrderStatus.ACCEPTED


def test_gtd_expires_by_the_clock(make_venue: MakeVenue, clock: SimClock) -> None:
    venue = make_venue()
    now = clock.now_ns()
    report = venue.submit_now(order("buy", "limit", "1", "99.5", tif="gtd",
                                    expire_at_ns=now + 1000))
    assert report.status is OrderStatus.ACCEPTED
    venue.on_trade(trade("100", "0.1", "sell", now + 999))
    assert venue._known(SPOT.id, report.client_order_id).is_open  # type: ignore[union-attr]
    clock.advance(1000)
    venue.advance()
    expired = venue._known(SPOT.id, report.client_order_id)
    assert expired is not None
    assert expired.status is OrderStatus.EXPIRED
    assert venue.balance_detail()["USDT"] == (D(100000), D(0))


def test_gtd_in_the_past_is_refused(make_venue: MakeVenue, clock: SimClock) -> None:
    with pytest.raises(VenueRejected) as caught:
        make_venue().submit_now(order("buy", "limit", "1", "99", tif="gtd",
                                      expire_at_ns=clock.now_ns()))
    assert caught.value.field == "expire_at_ns"


def test_stop_market_triggers_on_a_trade_and_takes(make_venue: MakeVenue, clock: SimClock
                                                   ) -> None:
    venue = make_venue()
    stop = venue.submit_now(order("buy", "stop_market", "1", stop="101"))
    assert stop.status is OrderStatus.ACCEPTED
    assert not stop.fills
    ts = clock.now_ns()
    venue.on_trade(trade("100.5", "0.1", "buy", ts + 1))
    assert venue.all_fills() == []
    venue.on_trade(trade("101", "0.1", "buy", ts + 2))
    fills = venue.all_fills()
    assert [(f.price.to_str(), f.quantity.to_str(), f.ts_ns) for f in fills] == [
        ("101", "1", ts + 2)]


def test_stop_limit_becomes_a_resting_limit(make_venue: MakeVenue, clock: SimClock) -> None:
    venue = make_venue()
    sent = venue.submit_now(order("sell", "stop_limit", "1", "99.5", stop="99.5"))
    ts = clock.now_ns()
    venue.on_trade(trade("99.5", "0.2", "sell", ts + 1))  # triggers; bids 100 cross 99.5
    o = venue._known(SPOT.id, sent.client_order_id)
    assert o is not None
    assert o.status is OrderStatus.FILLED
    assert [(f.price.to_str(), f.quantity.to_str()) for f in o.fills] == [("100", "1")]


def test_take_profit_sell_triggers_above(make_venue: MakeVenue, clock: SimClock) -> None:
    venue = make_venue()
    venue.submit_now(order("sell", "take_profit", "0.5", stop="105"))
    venue.on_trade(trade("104", "1", "buy", clock.now_ns() + 1))
    assert venue.all_fills() == []
    venue.on_trade(trade("105.5", "1", "buy", clock.now_ns() + 2))
    assert [f.price.to_str() for f in venue.all_fills()] == ["100"]  # sells into the bids


def test_trailing_stop_follows_the_best_trade(make_venue: MakeVenue, clock: SimClock) -> None:
    venue = make_venue()
    venue.submit_now(order("sell", "trailing_stop", "1", trailing_bps=100))  # 1 %
    ts = clock.now_ns()
    for i, price in enumerate(["100", "110", "109", "108.91"]):
        venue.on_trade(trade(price, "0.1", "buy", ts + i + 1))
    assert venue.all_fills() == []  # 110 * 0.99 = 108.9 not reached
    venue.on_trade(trade("108.9", "0.1", "sell", ts + 10))
    assert len(venue.all_fills()) == 1


def test_cancel_releases_the_lock_and_is_idempotent(make_venue: MakeVenue) -> None:
    venue = make_venue()
    sent = venue.submit_now(order("buy", "limit", "1", "99"))
    assert venue.balance_detail()["USDT"][1] > 0
    first = venue.cancel_now(SPOT.id, sent.client_order_id)
    again = venue.cancel_now(SPOT.id, sent.client_order_id)
    assert first.status is again.status is OrderStatus.CANCELLED
    assert venue.balance_detail()["USDT"] == (D(100000), D(0))
    with pytest.raises(VenueRejected):
        venue.cancel_now(SPOT.id, "nope")


def test_duplicate_client_id_is_idempotent_or_refused(make_venue: MakeVenue) -> None:
    venue = make_venue()
    first = venue.submit_now(order("buy", "limit", "1", "99", cid="same"))
    assert venue.submit_now(order("buy", "limit", "1", "99", cid="same")) == first
    with pytest.raises(VenueRejected) as caught:
        venue.submit_now(order("buy", "limit", "2", "99", cid="same"))
    assert caught.value.code == "duplicate_client_order_id"


@pytest.mark.parametrize(("request_kw", "code"), [
    ({"side": "buy", "kind": "limit", "qty": "2000", "price": "99"}, "insufficient_balance"),
    ({"side": "sell", "kind": "limit", "qty": "2", "price": "105"}, "insufficient_balance"),
    ({"side": "buy", "kind": "limit", "qty": "1", "price": "99.001"}, "off_tick"),
    ({"side": "buy", "kind": "limit", "qty": "0.000001", "price": "99"}, "off_lot"),
    ({"side": "buy", "kind": "limit", "qty": "0.01", "price": "99"}, "below_min_notional"),
    ({"side": "buy", "kind": "limit", "qty": "1"}, "price_required"),
    ({"side": "buy", "kind": "stop_market", "qty": "1"}, "stop_price_required"),
    ({"side": "buy", "kind": "trailing_stop", "qty": "1"}, "trailing_bps_required"),
    ({"side": "sell", "kind": "market", "qty": "1", "reduce_only": True}, "reduce_only_spot"),
])
def test_bad_orders_are_rejected_with_a_reason(make_venue: MakeVenue, request_kw: dict[str, Any],
                                               code: str) -> None:
    venue = make_venue()
    kw: dict[str, Any] = dict(request_kw)
    with pytest.raises(VenueRejected) as caught:
        venue.submit_now(order(kw.pop("side"), kw.pop("kind"), kw.pop("qty"), kw.pop("price", None),
                               **kw))
    assert caught.value.code == code
    assert caught.value.message
    assert venue.balance_detail()["USDT"] == (D(100000), D(0))


def test_insufficient_balance_message_names_amounts(make_venue: MakeVenue) -> None:
    with pytest.raises(VenueRejected) as caught:
        make_venue().submit_now(order("buy", "limit", "2000", "99"))
    assert caught.value.message.startswith("insufficient balance: needs 198099 USDT")
    assert "free 100000 USDT" in caught.value.message


def test_amend_down_keeps_queue_place_price_change_loses_it(make_venue: MakeVenue,
                                                            clock: SimClock) -> None:
    venue = make_venue()
    sent = venue.submit_now(order("buy", "limit", "1", "100"))
    o = venue._known(SPOT.id, sent.client_order_id)
    assert o is not None
    assert o.ahead == 1
    venue.on_trade(trade("100", "0.4", "sell", clock.now_ns() + 1))
    assert o.ahead == D("0.6")
    venue.amend_now(SPOT.id, sent.client_order_id, quantity=Quantity("0.5"))
    assert o.ahead == D("0.6")
    assert o.quantity == D("0.5")
    assert venue.balance_detail()["USDT"][1] == D("50") * (1 + D("0.0005"))
    venue.amend_now(SPOT.id, sent.client_order_id, price=Price("99"))
    assert o.ahead == 2  # the back of the 99 level
    venue.amend_now(SPOT.id, sent.client_order_id, price=Price("101.5"))  # crosses: takes
    assert o.status is OrderStatus.FILLED
    assert [(f.price.to_str(), f.liquidity) for f in o.fills] == [("101", Liquidity.TAKER)]


def test_latency_delays_arrival_until_market_time_passes(make_venue: MakeVenue,
                                                         clock: SimClock) -> None:
    venue = make_venue(latency_ns=5_000)
    seen: list[ExecutionReport] = []
    venue.add_listener(seen.append)
    now = clock.now_ns()
    ack = venue.submit_now(order("buy", "market", "1"))
    assert ack.status is OrderStatus.ACCEPTED
    assert not ack.fills
    venue.on_book_delta(delta("sell", "101", "0", now + 4_999))  # before arrival: 101 leaves
    assert seen == []
    venue.on_book_delta(delta("sell", "101.5", "1", now + 5_001))  # arrives first, then applies
    assert [(f.price.to_str(), f.ts_ns) for f in seen[-1].fills] == [("102", now + 5_000)]


def test_slippage_worsens_taker_prices_to_the_tick(make_venue: MakeVenue) -> None:
    venue = make_venue(slippage_bps=D("3"))
    buy = venue.submit_now(order("buy", "market", "1"))
    sell = venue.submit_now(order("sell", "market", "1"))
    assert buy.fills[0].price == Price("101.04")  # 101 * 1.0003 = 101.0303 -> up
    assert sell.fills[0].price == Price("99.97")  # 100 * 0.9997 = 99.97


def test_fill_ids_are_unique_and_runs_are_byte_identical(clock: SimClock) -> None:
    from tests.unit.venues.paper._paper import venue_factory

    def run() -> list[str]:
        venue = venue_factory(SimClock(1_000_000_000))()
        venue.submit_now(order("buy", "limit", "1", "100", cid="a"))
        venue.submit_now(order("buy", "market", "2", cid="b"))
        venue.submit_now(order("sell", "limit", "0.5", "102", cid="c"))
        venue.on_trade(trade("100", "1.5", "sell", 2_000_000_000))
        venue.on_trade(trade("102", "1.5", "buy", 2_000_000_001))
        return [repr(f) for f in venue.all_fills()]

    first, second = run(), run()
    assert first == second
    assert len(first) == 4
    assert len({f.split("fill_id='")[1].split("'")[0] for f in first}) == 4


async def test_reports_stream_starts_at_the_call(make_venue: MakeVenue) -> None:
    venue = make_venue()
    stream = venue.reports()  # registered now, before the first anext
    sent = await venue.submit(order("buy", "limit", "1", "99", cid="r1"))
    await venue.cancel(SPOT.id, "r1")
    first = await anext(stream)
    second = await anext(stream)
    assert (first.status, second.status) == (OrderStatus.ACCEPTED, OrderStatus.CANCELLED)
    assert first == sent
    await stream.aclose()  # type: ignore[attr-defined]


def test_the_clock_alone_delivers_delayed_orders_and_expiries(make_venue: MakeVenue,
                                                              clock: SimClock) -> None:
    venue = make_venue(latency_ns=2_000)
    seen: list[ExecutionReport] = []
    venue.add_listener(seen.append)
    start = clock.now_ns()
    venue.submit_now(order("buy", "market", "1", cid="late"))
    venue.submit_now(order("buy", "limit", "1", "99", cid="gtd", tif="gtd",
                           expire_at_ns=start + 5_000))
    clock.advance(1_999)
    assert seen == []
    clock.advance(1)  # no market data at all: the SimClock timer delivers both orders
    assert [(r.client_order_id, r.status, r.ts_ns) for r in seen] == [
        ("late", OrderStatus.FILLED, start + 2_000), ("gtd", OrderStatus.ACCEPTED, start + 2_000)]
    clock.advance(3_000)
    assert (seen[-1].client_order_id, seen[-1].status, seen[-1].ts_ns) == (
        "gtd", OrderStatus.EXPIRED, start + 5_000)
