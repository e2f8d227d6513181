"""Margin used, margin usage and the closest liquidation distance (hand-computed values)."""

from __future__ import annotations

from decimal import Decimal

from argosy.services.risk.domain.book import Owner, RiskBook
from argosy.services.risk.domain.margin import liquidation_distance, margin_usage, margin_used

D = Decimal
OWNER = Owner("org", "usr")
BTC, BTC_PERP, ETH_PERP = "BTC-USDT.binance", "BTC-USDT-PERP.binance", "ETH-USDT-PERP.binance"


def _book() -> RiskBook:
    b = RiskBook()
    kw = {"realized": D(0), "unrealized": D(0), "at_ms": 1}
    b.apply_position("a", OWNER, BTC_PERP, quantity=D(2), average_entry=D(29000),
                     mark=D(30000), leverage=10, liquidation_price=D(27000), **kw)  # fmt: skip
    b.apply_position("a", OWNER, ETH_PERP, quantity=D(-5), average_entry=D(2000),
                     mark=D(2000), leverage=20, liquidation_price=D(2100), **kw)  # fmt: skip
    b.apply_position("a", OWNER, BTC, quantity=D(1), average_entry=D(30000),
                     mark=D(30000), **kw)  # fmt: skip
    return b


def test_margin_used_sums_perps_over_leverage_and_ignores_spot() -> None:
    m = _book().metrics("a")
    # 2 x 30000 / 10 = 6000; |-5| x 2000 / 20 = 500; spot BTC: none
    assert margin_used(m.holdings) == D(6500)


def test_margin_usage_is_used_over_equity_and_none_without_positive_equity() -> None:
    assert margin_usage(D(6500), D(13000)) == D("0.5")
    assert margin_usage(D(6500), D(0)) is None
    assert margin_usage(D(6500), D(-1)) is None
    assert margin_usage(D(0), D(100)) == 0


def test_closest_liquidation_distance() -> None:
    b = _book()
    # BTC: |30000 - 27000| / 30000 = 0.1; ETH: |2000 - 2100| / 2000 = 0.05
    assert liquidation_distance(b.metrics("a").holdings) == D("0.05")
    b.set_mark(ETH_PERP, D(1800))  # ETH short moves away: |1800 - 2100| / 1800 = 1/6
    assert liquidation_distance(b.metrics("a").holdings) == D("0.1")
    assert margin_used(b.metrics("a").holdings) == D(6450)  # 6000 + 5 x 1800 / 20


def test_no_liquidation_price_means_none() -> None:
    b = RiskBook()
    b.apply_position("a", OWNER, BTC, quantity=D(1), average_entry=D(100), realized=D(0),
                     unrealized=D(0), mark=D(100), at_ms=1)  # fmt: skip
    assert liquidation_distance(b.metrics("a").holdings) is None
    assert margin_used(b.metrics("a").holdings) == 0


def test_unknown_leverage_counts_at_one_and_later_events_keep_it() -> None:
    b = RiskBook()
    b.apply_fill("a", OWNER, BTC_PERP, D("0.5"), D(100))  # before any position event
    assert margin_used(b.metrics("a").holdings) == D(50)
    kw = {"average_entry": D(100), "realized": D(0), "unrealized": D(0), "mark": D(100)}
    b.apply_position("a", OWNER, BTC_PERP, quantity=D("0.5"), at_ms=2, leverage=5, **kw)
    assert margin_used(b.metrics("a").holdings) == D(10)
    b.apply_position("a", OWNER, BTC_PERP, quantity=D(1), at_ms=3, **kw)  # no leverage given
    assert margin_used(b.metrics("a").holdings) == D(20)


def test_aggregate_over_accounts_sums_margin_and_takes_the_closest() -> None:
    b = _book()
    b.apply_position("b", OWNER, BTC_PERP, quantity=D(-1), average_entry=D(30000),
                     realized=D(0), unrealized=D(0), mark=D(30000), at_ms=1, leverage=3,
                     liquidation_price=D(39000))  # fmt: skip
    m = b.combine(["a", "b"])
    assert margin_used(m.holdings) == D(16500)  # 6500 + 30000 / 3
    assert liquidation_distance(m.holdings) == D("0.05")
