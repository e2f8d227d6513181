"""Price alerts: crossings, moves within a window, once or re-armed, with a cooldown."""

from __future__ import annotations

from decimal import Decimal

import pytest

from argosy.kernel.errors import Invalid
from argosy.services.notification.domain.price_alerts import (
    AlertSpec,
    AlertState,
    check_decimal,
    observe,
)

S = 10**9


def feed(spec: AlertSpec, prices: list[tuple[int, str]]) -> list[tuple[int, str]]:
    state = AlertState()
    fired = []
    for t, p in prices:
        hit = observe(spec, state, Decimal(p), t * S)
        if hit is not None:
            fired.append((t, str(hit.price)))
    return fired


def test_crossing_above_fires_once_and_not_on_the_first_tick() -> None:
    spec = AlertSpec("a", "BTC-USDT.binance", "above", level=Decimal(100))
    assert feed(spec, [(1, "101"), (2, "99"), (3, "100"), (4, "98"), (5, "105")]) == [
        (3, "100")]


def test_below_and_either_way() -> None:
    below = AlertSpec("b", "X-Y.v", "below", level=Decimal(100))
    assert feed(below, [(1, "101"), (2, "100"), (3, "99")]) == [(2, "100")]
    cross = AlertSpec("c", "X-Y.v", "cross", level=Decimal(100), repeat=True, cooldown_s=0)
    assert feed(cross, [(1, "99"), (2, "101"), (3, "102"), (4, "98")]) == [
        (2, "101"), (4, "98")]


def test_repeat_rearms_on_the_way_back_and_respects_the_cooldown() -> None:
    spec = AlertSpec("r", "X-Y.v", "above", level=Decimal(10), repeat=True, cooldown_s=60)
    ticks = [(0, "9"), (1, "11"), (2, "9"), (3, "11"), (100, "9"), (101, "12")]
    assert feed(spec, ticks) == [(1, "11"), (101, "12")]


def test_move_up_within_the_window_from_its_low() -> None:
    spec = AlertSpec("m", "X-Y.v", "move_up", pct=Decimal(5), window_s=60)
    # low of 100 at t=10 leaves the window at t=71: 104.9 → 105 is then only +0.1%
    assert feed(spec, [(0, "102"), (10, "100"), (20, "103"), (80, "104.9"), (81, "105")]) == []
    assert feed(spec, [(0, "102"), (10, "100"), (20, "103"), (30, "105")]) == [(30, "105")]


def test_move_down_and_any_direction_and_fresh_window_after_repeat() -> None:
    down = AlertSpec("d", "X-Y.v", "move_down", pct=Decimal(10), window_s=3600)
    assert feed(down, [(0, "100"), (5, "120"), (6, "108")]) == [(6, "108")]
    anyway = AlertSpec("e", "X-Y.v", "move", pct=Decimal(10), window_s=3600, repeat=True,
                       cooldown_s=0)
    assert feed(anyway, [(0, "100"), (1, "110"), (2, "111"), (3, "99")]) == [
        (1, "110"), (3, "99")]


def test_late_ticks_do_not_rewind_the_window() -> None:
    spec = AlertSpec("l", "X-Y.v", "move_up", pct=Decimal(5), window_s=10)
    state = AlertState()
    observe(spec, state, Decimal(100), 100 * S)
    assert observe(spec, state, Decimal(106), 50 * S) is not None


def test_spec_and_decimal_checks() -> None:
    with pytest.raises(Invalid) as err:
        AlertSpec("x", "X-Y.v", "above")
    assert err.value.field == "level"
    with pytest.raises(Invalid) as err:
        AlertSpec("x", "X-Y.v", "move", pct=Decimal(1))
    assert err.value.field == "window_s"
    for bad in ("abc", "-1", "0", "NaN", "Infinity"):
        with pytest.raises(Invalid):
            check_decimal(bad, "level")
    assert AlertSpec("x", "X-Y.v", "move_down", pct=Decimal(3), window_s=60).describe() == (
        "fell 3% within 60s")
