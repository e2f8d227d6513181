"""Positions and balances from fills: exact sums, averages, realized PnL, flips."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817  (amounts read better short)

import hypothesis.strategies as st
from hypothesis import given, settings

from argosy.kernel.instruments import InstrumentKind
from argosy.kernel.messages import Side
from argosy.services.trading.domain.ledger import (
    FillFacts,
    PositionState,
    apply_fill,
    unrealized,
)


def fill(side: Side, price: str, qty: str, fee: str = "0", kind: InstrumentKind =
         InstrumentKind.SPOT) -> FillFacts:
    return FillFacts(kind, "BTC", "USDT", side, D(price), D(qty), D(fee), "USDT")


def test_spot_buy_moves_base_quote_and_fee() -> None:
    pos, changes = apply_fill(PositionState(), fill(Side.BUY, "61837.63", "0.01", "0.61837630"))
    assert pos.quantity == D("0.01")
    assert pos.average_entry == D("61837.63")
    assert pos.fees_paid == D("0.61837630")
    assert [(c.asset, c.delta, c.reason) for c in changes] == [
        ("BTC", D("0.01"), "trade"), ("USDT", D("-618.3763"), "trade"),
        ("USDT", D("-0.61837630"), "fee")]


def test_perp_round_trip_realizes_pnl_into_quote_only() -> None:
    pos, first = apply_fill(PositionState(), fill(Side.SELL, "100", "2", kind=InstrumentKind.PERP))
    assert pos.quantity == D(-2)
    assert first == []
    pos, second = apply_fill(pos, fill(Side.BUY, "90", "3", "0.1", InstrumentKind.PERP))
    # closes 2 short at +10 each, then opens 1 long at 90
    assert pos.realized_pnl == D(20)
    assert pos.quantity == D(1)
    assert pos.average_entry == D(90)
    assert [(c.asset, c.delta) for c in second] == [("USDT", D(20)), ("USDT", D("-0.1"))]
    assert unrealized(pos, D(95)) == D(5)


def test_average_entry_weights_by_size() -> None:
    pos, _ = apply_fill(PositionState(), fill(Side.BUY, "100", "1"))
    pos, _ = apply_fill(pos, fill(Side.BUY, "130", "2"))
    assert pos.average_entry == D(120)
    pos, _ = apply_fill(pos, fill(Side.SELL, "150", "3"))
    assert pos.quantity == 0
    assert pos.average_entry is None
    assert pos.realized_pnl == D(90)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]),
                          st.integers(1, 10_000_000), st.integers(1, 100_000)),
                min_size=1, max_size=30))
def test_spot_tie_out(trades: list[tuple[Side, int, int]]) -> None:
    """Sum of signed fills == position == base balance change; quote == -sum(notional)."""
    pos = PositionState()
    base = quote = D(0)
    signed = cash = D(0)
    for side, cents, lots in trades:
        price, qty = D(cents) / 100, D(lots) / 100_000
        pos, changes = apply_fill(pos, fill(side, str(price), str(qty)))
        for c in changes:
            if c.asset == "BTC":
                base += c.delta
            else:
                quote += c.delta
        signed += qty if side is Side.BUY else -qty
        cash += -price * qty if side is Side.BUY else price * qty
    assert pos.quantity == signed == base
    assert quote == cash


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]),
                          st.integers(1, 10_000_000), st.integers(1, 3000)),
                min_size=1, max_size=30))
def test_perp_pnl_matches_the_paper_venue_to_the_last_digit(
        trades: list[tuple[Side, int, int]]) -> None:
    """The same fills give the paper venue's wallet and our ledger the same realized PnL,
    so reconciling a paper account never finds a difference."""
    from argosy.venues.paper._ledger import PerpPosition

    ours, theirs = PositionState(), PerpPosition("USDT", 1)
    wallet = D(0)
    for side, cents, lots in trades:
        price, qty = D(cents) / 10, D(lots) / 1000
        ours, changes = apply_fill(ours, fill(side, str(price), str(qty),
                                              kind=InstrumentKind.PERP))
        wallet += sum((c.delta for c in changes), D(0))
        theirs.apply(qty if side is Side.BUY else -qty, price)
    assert ours.quantity == theirs.quantity
    assert ours.realized_pnl == theirs.realized == wallet
