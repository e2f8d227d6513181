"""The service's guards: duplicates, order, jumps, outliers and crossed quotes."""

from __future__ import annotations

from argosy.services.market_data.domain.cleaning import OutlierFilter, Reject, TradeGuard, crossed


def test_numeric_ids_refuse_duplicates_and_late_and_report_jumps() -> None:
    guard = TradeGuard()
    assert guard.check("k", "100", 1).accepted
    assert guard.check("k", "101", 2).accepted
    assert guard.check("k", "101", 2).reject is Reject.DUPLICATE
    assert guard.check("k", "99", 3).reject is Reject.OUT_OF_ORDER
    jump = guard.check("k", "105", 4)
    assert jump.accepted
    assert (jump.missing_from, jump.missing_to) == (102, 104)
    assert guard.check("other", "1", 1).accepted  # keys are independent


def test_seed_makes_a_restart_a_visible_jump() -> None:
    guard = TradeGuard()
    guard.seed("k", 500)
    assert guard.check("k", "500", 1).reject is Reject.DUPLICATE
    verdict = guard.check("k", "510", 2)
    assert (verdict.missing_from, verdict.missing_to) == (501, 509)


def test_opaque_ids_are_unique_within_the_window_and_in_time_order() -> None:
    guard = TradeGuard(window=2)
    assert guard.check("k", "a", 10).accepted
    assert guard.check("k", "a", 11).reject is Reject.DUPLICATE
    assert guard.check("k", "b", 9).reject is Reject.OUT_OF_ORDER
    assert guard.check("k", "b", 12).accepted
    assert guard.check("k", "c", 13).accepted
    assert guard.check("k", "a", 14).accepted  # forgotten after `window` newer ids


def test_outlier_against_a_fresh_mid_then_against_the_rolling_median() -> None:
    band = OutlierFilter(0.05, min_samples=3, quote_max_age_ns=1_000)
    assert band.check("k", 1_000_000.0, 0) is None  # no market yet: nothing to compare
    band2 = OutlierFilter(0.05, min_samples=3, quote_max_age_ns=1_000)
    band2.quote("k", 99.0, 101.0, 100)
    assert band2.check("k", 104.0, 500) is None
    reason = band2.check("k", 106.0, 600)
    assert reason is not None
    assert "6.00% from the mid 100" in reason
    # the quote is stale by venue time: the median of accepted trades is the reference
    for price in (100.0, 101.0, 102.0):
        assert band2.check("k", price, 10_000) is None
    assert band2.check("k", 150.0, 10_000) is not None
    assert "median of recent trades" in (band2.check("k", 50.0, 10_000) or "")
    assert band2.check("k", 103.0, 10_000) is None


def test_crossed_quotes_are_not_a_reference() -> None:
    band = OutlierFilter(0.05, min_samples=100)
    band.quote("k", 101.0, 100.0, 0)
    assert band.reference("k", 0) is None
    assert crossed(101.0, 100.0)
    assert crossed(100.0, 100.0)
    assert not crossed(99.0, 100.0)
    assert not crossed(None, 100.0)
