"""The risk service's pure parts: the book, the measures, breaches and stops."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argosy.kernel.pretrade import Rule, RuleKind, RuleSet, Scope
from argosy.services.risk.domain.book import Owner, RiskBook
from argosy.services.risk.domain.measures import (
    MIN_RETURNS,
    NS_PER_DAY,
    EquityMarks,
    drawdown,
    historical_var,
    roll,
)
from argosy.services.risk.domain.protection import (
    StopSpec,
    StopTrigger,
    breaches,
    evaluate_stop,
)

D = Decimal
OWNER = Owner("org", "usr")
BTC, PERP = "BTC-USDT.binance", "BTC-USDT-PERP.binance"


def test_fills_average_entry_realized_pnl_and_flip() -> None:
    b = RiskBook()
    b.apply_fill("a", OWNER, BTC, D("1"), D("100"))
    b.apply_fill("a", OWNER, BTC, D("1"), D("110"))
    h = b.holding("a", BTC)
    assert h is not None
    assert (h.quantity, h.average_entry) == (D(2), D(105))
    b.apply_fill("a", OWNER, BTC, D("-3"), D("120"))  # closes 2 at +15 each, opens 1 short
    assert (h.quantity, h.average_entry, h.realized_pnl) == (D(-1), D(120), D(30))
    b.apply_fill("a", OWNER, BTC, D("1"), D("100"))
    assert (h.quantity, h.average_entry, h.realized_pnl) == (D(0), None, D(50))


def test_position_events_are_absolute_and_ordered() -> None:
    b = RiskBook()
    kw = {"average_entry": D(100), "realized": D(0), "unrealized": D(0), "mark": None}
    assert b.apply_position("a", OWNER, BTC, quantity=D(2), at_ms=10, **kw)
    assert not b.apply_position("a", OWNER, BTC, quantity=D(5), at_ms=9, **kw)  # stale
    assert b.holding("a", BTC).quantity == 2  # type: ignore[union-attr]


def test_equity_balances_at_marks_plus_perp_unrealized() -> None:
    b = RiskBook()
    b.apply_balance("a", OWNER, "USDT", D(1000), 1)
    b.apply_balance("a", OWNER, "BTC", D("0.5"), 1)
    b.apply_position("a", OWNER, PERP, quantity=D(-2), average_entry=D(100), realized=D(0),
                     unrealized=D(0), mark=None, at_ms=1)  # fmt: skip
    b.set_mark(BTC, D(200))
    b.set_mark(PERP, D(110))
    m = b.metrics("a")
    assert m.equity == D(1000) + D(100) + D(-20)
    assert m.gross == D(220)
    assert m.net == D(-220)
    assert m.concentration == 1
    assert m.valued


def test_aggregation_and_concentration() -> None:
    b = RiskBook()
    for acct, qty in (("a", D(1)), ("b", D(3))):
        b.apply_fill(acct, OWNER, BTC, qty, D(100))
    b.apply_fill("b", OWNER, "ETH-USDT.binance", D(-10), D(10))
    m = b.combine(["a", "b"])
    assert (m.gross, m.net) == (D(500), D(300))
    assert m.concentration == D("0.8")
    assert not m.valued  # PnL only: no drawdown fraction is measured from it


def test_roll_peak_day_and_returns() -> None:
    m = EquityMarks.start(D(100), 0)
    m, r = roll(m, D(120), 10, interval_ns=100)
    assert (m.peak_equity, r) == (D(120), None)
    m, r = roll(m, D(90), 100, interval_ns=100)
    assert r == D("-0.1")
    assert drawdown(m, D(90)) == D("0.25")
    assert m.day_pnl(D(90)) == D(-10)
    m, _ = roll(m, D(90), NS_PER_DAY + 5, interval_ns=100)
    assert m.day_start_equity == D(90)
    assert drawdown(EquityMarks.start(D(0), 0), D(-5)) == 0


def test_historical_var_and_es() -> None:
    returns = [D(x) / 100 for x in range(-10, 10)]  # -0.10 .. 0.09, 20 values
    var, es = historical_var(returns, D(1000), 0.95) or (None, None)
    assert var == D(100)  # worst 1 of 20 (5 %): -10 %
    assert es == D(100)
    var, es = historical_var(returns, D(1000), 0.9) or (None, None)
    assert var == D(90)
    assert es == D(95)
    assert historical_var(returns[: MIN_RETURNS - 1], D(1000)) is None


@settings(max_examples=100, deadline=None)
@given(st.lists(st.decimals(-1, 1, places=4), min_size=MIN_RETURNS, max_size=200))
def test_es_is_never_below_var(returns: list[Decimal]) -> None:
    result = historical_var(returns, D(1000))
    assert result is not None
    var, es = result
    assert es >= var >= 0


def test_breaches_strict_and_scoped() -> None:
    rs = RuleSet(1, (
        Rule(id="dl", kind=RuleKind.DAILY_LOSS_LIMIT, limit=D(100), scope=Scope(org="org")),
        Rule(id="dd", kind=RuleKind.MAX_DRAWDOWN, limit=D("0.2")),
        Rule(id="other", kind=RuleKind.DAILY_LOSS_LIMIT, limit=D(1), scope=Scope(org="x")),
        Rule(id="inst", kind=RuleKind.MAX_DRAWDOWN, limit=D(0), scope=Scope(instrument=BTC)),
    ))  # fmt: skip
    assert breaches(rs, "org", "usr", "a", day_pnl=D(-100), drawdown=D("0.2")) == []
    found = breaches(rs, "org", "usr", "a", day_pnl=D("-100.01"), drawdown=D("0.21"))
    assert [b.rule_id for b in found] == ["dl", "dd"]


@pytest.mark.parametrize(
    ("qty", "mark", "spec", "fired"),
    [
        (D(1), D(90), StopSpec(D(90), None, None, None), StopTrigger.STOP_LOSS),
        (D(1), D("90.01"), StopSpec(D(90), None, None, None), None),
        (D(-1), D(110), StopSpec(D(110), None, None, None), StopTrigger.STOP_LOSS),
        (D(1), D(120), StopSpec(None, D(120), None, None), StopTrigger.TAKE_PROFIT),
        (D(-1), D(80), StopSpec(None, D(80), None, None), StopTrigger.TAKE_PROFIT),
        (D(1), D(95), StopSpec(None, None, 500, D(100)), StopTrigger.TRAILING),
        (D(1), D("95.01"), StopSpec(None, None, 500, D(100)), None),
        (D(-1), D(105), StopSpec(None, None, 500, D(100)), StopTrigger.TRAILING),
        (D(0), D(1), StopSpec(D(90), None, None, None), None),
    ],
)
def test_stops(qty: Decimal, mark: Decimal, spec: StopSpec, fired: StopTrigger | None) -> None:
    assert evaluate_stop(spec, qty, mark)[0] is fired


def test_trailing_anchor_follows_best_mark_only() -> None:
    spec = StopSpec(None, None, 100, None)
    _, anchor = evaluate_stop(spec, D(1), D(100))
    _, anchor = evaluate_stop(StopSpec(None, None, 100, anchor), D(1), D(105))
    assert anchor == 105
    fired, anchor = evaluate_stop(StopSpec(None, None, 100, anchor), D(1), D(104))
    assert (fired, anchor) == (None, D(105))
