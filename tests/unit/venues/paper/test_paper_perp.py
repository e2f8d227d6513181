"""Perpetuals: signed positions, average entry, realized PnL, margin, reduce-only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from argosy.kernel.errors import VenueRejected
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import OrderStatus
from tests.unit.venues.paper._paper import PERP, MakeVenue, order

D = Decimal
TAKER = D("0.0005")


async def test_open_add_close_and_flip_tie_out(make_venue: MakeVenue) -> None:
    venue = make_venue(balances={"USDT": "100000"})
    venue.submit_now(order("buy", "market", "1", inst=PERP))  # 101
    venue.submit_now(order("buy", "market", "1", inst=PERP))  # 102 (101 taken)
    pos = venue.position_detail(PERP.id)
    assert pos is not None
    assert pos.quantity == 2
    assert pos.entry_price == D("101.5")
    report = venue.submit_now(order("sell", "market", "3", inst=PERP))  # 100, 99 x2
    assert [(f.price.to_str(), f.quantity.to_str()) for f in report.fills] == [
        ("100", "1"), ("99", "2")]
    pos = venue.position_detail(PERP.id)
    assert pos is not None
    assert pos.quantity == -1
    assert pos.entry_price == 99
    assert pos.realized_pnl == (100 - D("101.5")) + (99 - D("101.5"))
    fees = (101 + 102 + 100 + 99 * 2) * TAKER
    assert pos.fees == fees
    assert venue.balance_detail()["USDT"] == (D(100000) + pos.realized_pnl - fees, D(0))
    [listed] = await venue.positions()
    assert (listed.side, listed.quantity, listed.entry_price, listed.leverage) == (
        Side.SELL, Quantity("1"), Price("99"), 1)


def test_margin_is_checked_against_leverage(make_venue: MakeVenue) -> None:
    venue = make_venue(balances={"USDT": "10000"})
    with pytest.raises(VenueRejected) as caught:
        venue.submit_now(order("buy", "limit", "200", "100", inst=PERP))
    assert caught.value.code == "insufficient_balance"
    assert "insufficient margin" in caught.value.message
    venue.set_leverage(PERP.id, 5)
    accepted = venue.submit_now(order("buy", "limit", "90", "99.5", inst=PERP))
    assert accepted.status is OrderStatus.ACCEPTED  # 8955 / 5 + fee
    with pytest.raises(VenueRejected):  # fits 10000 alone, not beside the open order
        venue.submit_now(order("buy", "limit", "450", "99.5", inst=PERP))


def test_reduce_only_never_grows_the_position(make_venue: MakeVenue) -> None:
    venue = make_venue(balances={"USDT": "100000"})
    with pytest.raises(VenueRejected) as caught:
        venue.submit_now(order("sell", "market", "1", inst=PERP, reduce_only=True))
    assert caught.value.code == "reduce_only_would_increase"
    venue.submit_now(order("buy", "market", "1", inst=PERP))
    with pytest.raises(VenueRejected):
        venue.submit_now(order("buy", "market", "1", inst=PERP, reduce_only=True))
    report = venue.submit_now(order("sell", "market", "2", inst=PERP, reduce_only=True))
    assert report.filled_quantity == Quantity("1")
    assert report.status is OrderStatus.CANCELLED
    pos = venue.position_detail(PERP.id)
    assert pos is not None
    assert pos.quantity == 0
    assert pos.entry_price == 0


def test_leverage_cannot_change_with_a_position(make_venue: MakeVenue) -> None:
    venue = make_venue(balances={"USDT": "100000"})
    venue.submit_now(order("buy", "market", "1", inst=PERP))
    with pytest.raises(VenueRejected):
        venue.set_leverage(PERP.id, 3)
