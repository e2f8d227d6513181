"""The Decimal L2 book: level arithmetic, ordering, crossing, and delta convergence."""

from __future__ import annotations

import random
from decimal import Decimal

from argosy.kernel.messages import Side
from argosy.venues.book import OrderBook, apply_levels, parse_levels
from tests.support.binance_data import stream_events

D = Decimal


def test_set_replace_and_remove_levels() -> None:
    book = OrderBook("BTCUSDT")
    book.load(parse_levels([["100.0", "1"], ["99.5", "2"]]),
              parse_levels([["101", "3"], ["102", "0"]]), 7)
    assert book.best_bid() == (D("100.0"), D("1"))
    assert book.best_ask() == (D("101"), D("3"))
    assert len(book.asks) == 1  # zero sizes are not levels
    book.apply(parse_levels([["100", "0"], ["99.9", "4"]]), parse_levels([["100.5", "1"]]), 8)
    assert book.best_bid() == (D("99.9"), D("4"))  # "100" and "100.0" are one price
    assert book.best_ask() == (D("100.5"), D("1"))
    book.apply(parse_levels([["12.34", "0"]]), [], 9)  # removing an unknown level is normal
    assert book.last_update_id == 9
    assert book.depth(2) == ([(D("99.9"), D("4")), (D("99.5"), D("2"))],
                             [(D("100.5"), D("1")), (D("101"), D("3"))])


def test_crossed_book_is_detected() -> None:
    book = OrderBook("X")
    book.load([(D("10"), D("1"))], [(D("11"), D("1"))], 1)
    assert not book.is_crossed()
    apply_levels(book.bids, [(D("11"), D("2"))])
    assert book.is_crossed()


def test_depth_and_diff_to_on_real_diffs() -> None:
    """Random subsets of real deltas: diff_to always converges, top-N is sorted."""
    diffs = [d for _, _, d in stream_events("binance_spot_BTCUSDT_20240808.jsonl.gz")
             if d.get("e") == "depthUpdate"][:400]
    rng = random.Random(5)
    a, b = OrderBook("BTCUSDT"), OrderBook("BTCUSDT")
    for d in diffs:
        target = a if rng.random() < 0.5 else b
        target.apply(parse_levels(d["b"]), parse_levels(d["a"]), d["u"])
    changes = a.diff_to(b)
    for side, price, qty in changes:
        apply_levels(a.side(side), [(price, qty)])
    assert a.same_levels(b)
    bids, asks = a.depth(25)
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert all(isinstance(p, Decimal) and isinstance(q, Decimal) for p, q in bids + asks)
    assert {s for s, _, _ in changes} <= {Side.BUY, Side.SELL}
