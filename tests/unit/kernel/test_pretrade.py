"""Adversarial boundaries of every pre-trade rule: at the limit passes, one tick over fails."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.pretrade import (
    HoursWindow,
    KillSwitch,
    KillSwitchLevel,
    OrderContext,
    PreTradeEngine,
    Rule,
    RuleKind,
    RuleSet,
    Scope,
    utc_weekday_minute,
)

BTC = InstrumentId.parse("BTC-USDT.binance")
ETH = InstrumentId.parse("ETH-USDT.binance")
SEC = 1_000_000_000
# 2024-01-01 was a Monday; 12:00 UTC that day.
MONDAY_NOON = 1_704_110_400 * SEC
TICK = Decimal("0.00000001")


def ctx(**kw: Any) -> OrderContext:
    base: dict[str, Any] = {
        "org": "org_a",
        "user_id": "usr_1",
        "account_id": "acc_1",
        "strategy_id": None,
        "instrument_id": BTC,
        "side": Side.BUY,
        "quantity": Quantity("1"),
        "price": Price("100"),
        "mark_price": Price("100"),
        "now_ns": MONDAY_NOON,
        "equity": Decimal("1000"),
    }
    base.update(kw)
    return OrderContext(**base)


def engine(*rules: Rule, kills: tuple[KillSwitch, ...] = ()) -> PreTradeEngine:
    return PreTradeEngine(RuleSet(1, rules, kills))


def rule(kind: RuleKind, limit: str | int | None = None, **kw: Any) -> Rule:
    return Rule(id=kw.pop("id", f"r_{kind}"), kind=kind, limit=_d(limit), **kw)


def _d(v: str | int | None) -> Decimal | None:
    return None if v is None else Decimal(v)


def allowed(e: PreTradeEngine, c: OrderContext) -> bool:
    return e.check(c).allowed


def test_no_rules_allows_everything() -> None:
    d = engine().check(ctx())
    assert d.allowed
    assert d.rule_id is None
    assert d.evaluated == ()


@pytest.mark.parametrize("limit", ["5", "5.000", "5E+0", "0.5E+1"])
def test_max_order_quantity_boundary_any_spelling(limit: str) -> None:
    e = engine(rule(RuleKind.MAX_ORDER_QUANTITY, limit))
    assert allowed(e, ctx(quantity=Quantity("5")))
    d = e.check(ctx(quantity=Quantity(Decimal("5") + TICK)))
    assert not d.allowed
    assert d.code == "max_order_quantity"
    assert d.rule_id == "r_max_order_quantity"
    assert "exceeds" in (d.reason or "")


def test_max_order_quantity_exponent_limit_equals_plain() -> None:
    e = engine(rule(RuleKind.MAX_ORDER_QUANTITY, "1E+2"))
    assert allowed(e, ctx(quantity=Quantity("100")))
    assert not allowed(e, ctx(quantity=Quantity("100.00000001")))


def test_zero_limit_blocks_all_but_zero() -> None:
    e = engine(rule(RuleKind.MAX_ORDER_QUANTITY, "-0"))
    assert e.ruleset.rules[0].limit == 0
    assert str(e.ruleset.rules[0].limit) == "0"
    assert not allowed(e, ctx(quantity=Quantity(TICK)))


def test_max_order_notional_uses_price_then_mark() -> None:
    e = engine(rule(RuleKind.MAX_ORDER_NOTIONAL, "250"))
    assert allowed(e, ctx(quantity=Quantity("2.5"), price=Price("100")))
    assert not allowed(e, ctx(quantity=Quantity("2.5"), price=Price("100.00000001")))
    # market order: valued at the mark
    assert allowed(e, ctx(quantity=Quantity("2.5"), price=None, mark_price=Price("100")))
    assert not allowed(e, ctx(quantity=Quantity("2.5"), price=None, mark_price=Price("100.01")))
    d = e.check(ctx(price=None, mark_price=None))
    assert not d.allowed
    assert "no order price" in (d.reason or "")


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_price_band_symmetric_exact(side: Side) -> None:
    e = engine(rule(RuleKind.PRICE_BAND_BPS, "50"))  # 0.5 % of 100 = 0.5
    assert allowed(e, ctx(side=side, price=Price("100.5")))
    assert allowed(e, ctx(side=side, price=Price("99.5")))
    assert not allowed(e, ctx(side=side, price=Price("100.50000001")))
    assert not allowed(e, ctx(side=side, price=Price("99.49999999")))


def test_price_band_market_order_and_missing_mark() -> None:
    e = engine(rule(RuleKind.PRICE_BAND_BPS, "1"))
    assert allowed(e, ctx(price=None))
    d = e.check(ctx(mark_price=None))
    assert not d.allowed
    assert "mark" in (d.reason or "")
    assert not allowed(e, ctx(mark_price=Price("0")))


def test_max_position_resulting_and_reducing() -> None:
    e = engine(rule(RuleKind.MAX_POSITION, "3"))
    assert allowed(e, ctx(position_qty=Decimal("2"), quantity=Quantity("1")))
    assert not allowed(e, ctx(position_qty=Decimal("2"), quantity=Quantity(Decimal(1) + TICK)))
    # short side: -2 sell 1 = -3 ok, one tick more fails
    assert allowed(e, ctx(side=Side.SELL, position_qty=Decimal("-2"), quantity=Quantity("1")))
    assert not allowed(
        e, ctx(side=Side.SELL, position_qty=Decimal("-2"), quantity=Quantity("1.00000001"))
    )
    # already over the limit: reducing passes, a flip through zero past the limit fails
    assert allowed(e, ctx(side=Side.SELL, position_qty=Decimal("10"), quantity=Quantity("4")))
    assert not allowed(e, ctx(side=Side.SELL, position_qty=Decimal("1"), quantity=Quantity("5")))
    assert allowed(e, ctx(side=Side.SELL, position_qty=Decimal("1"), quantity=Quantity("4")))


def test_negative_zero_position_is_flat() -> None:
    e = engine(rule(RuleKind.MAX_POSITION, "1"))
    assert allowed(e, ctx(position_qty=Decimal("-0"), quantity=Quantity("1")))
    assert not allowed(e, ctx(position_qty=Decimal("-0"), quantity=Quantity("1.00000001")))


def test_gross_exposure_projection() -> None:
    e = engine(rule(RuleKind.MAX_GROSS_EXPOSURE, "1000"))
    base = ctx(gross_exposure=Decimal("900"), quantity=Quantity("1"), price=Price("100"))
    assert allowed(e, base)
    assert not allowed(e, replace(base, price=Price("100.00000001")))
    # reducing an existing long never fails, even above the limit
    over = replace(base, gross_exposure=Decimal("5000"), position_qty=Decimal("3"), side=Side.SELL)
    assert allowed(e, over)


def test_net_exposure_allows_moving_towards_zero() -> None:
    e = engine(rule(RuleKind.MAX_NET_EXPOSURE, "500"))
    assert allowed(e, ctx(net_exposure=Decimal("400"), quantity=Quantity("1")))
    assert not allowed(e, ctx(net_exposure=Decimal("400.00000001"), quantity=Quantity("1")))
    # a sell on another instrument shrinks |net| although it opens a new short
    assert allowed(e, ctx(net_exposure=Decimal("900"), side=Side.SELL, quantity=Quantity("2")))
    assert not allowed(
        e, ctx(net_exposure=Decimal("-500"), side=Side.SELL, quantity=Quantity(TICK))
    )


def test_leverage_ratio_exact_and_non_positive_equity() -> None:
    e = engine(rule(RuleKind.MAX_LEVERAGE, "2"))
    assert allowed(e, ctx(equity=Decimal("1000"), gross_exposure=Decimal("1900")))
    d = e.check(ctx(equity=Decimal("1000"), gross_exposure=Decimal("1900.00000001")))
    assert not d.allowed
    assert d.code == "max_leverage"
    assert not allowed(e, ctx(equity=Decimal("0")))
    assert not allowed(e, ctx(equity=Decimal("-0")))
    assert allowed(e, ctx(equity=Decimal("-5"), side=Side.SELL, position_qty=Decimal("1")))


def test_open_orders_count() -> None:
    e = engine(rule(RuleKind.MAX_OPEN_ORDERS, 5))
    assert allowed(e, ctx(open_orders=4))
    assert not allowed(e, ctx(open_orders=5))


def test_order_rate_window_edges() -> None:
    e = engine(rule(RuleKind.ORDER_RATE, 3, window_ns=SEC))
    now = MONDAY_NOON
    # exactly one window old falls out: (now - window, now]
    assert allowed(e, ctx(recent_order_ns=[now - SEC, now - 10, now - 5], now_ns=now))
    assert allowed(e, ctx(recent_order_ns=[now - 10, now - 5], now_ns=now))
    assert not allowed(e, ctx(recent_order_ns=[now - SEC + 1, now - 10, now - 5], now_ns=now))


def test_daily_loss_limit_exact_and_reducing() -> None:
    e = engine(rule(RuleKind.DAILY_LOSS_LIMIT, "100"))
    assert allowed(e, ctx(day_pnl=Decimal("-100")))
    assert allowed(e, ctx(day_pnl=Decimal("1E+3")))
    assert not allowed(e, ctx(day_pnl=Decimal("-100.00000001")))
    assert allowed(e, ctx(day_pnl=Decimal("-500"), side=Side.SELL, position_qty=Decimal("1")))


def test_max_drawdown_fraction() -> None:
    e = engine(rule(RuleKind.MAX_DRAWDOWN, "0.1"))
    assert allowed(e, ctx(drawdown=Decimal("0.1000")))
    assert not allowed(e, ctx(drawdown=Decimal("0.10000001")))
    with pytest.raises(Invalid) as exc:
        rule(RuleKind.MAX_DRAWDOWN, "1.5")
    assert exc.value.field == "limit"


def test_restricted_instruments_blocks_opening_not_closing() -> None:
    e = engine(
        Rule(id="ban", kind=RuleKind.RESTRICTED_INSTRUMENTS, instruments=frozenset({str(BTC)}))
    )
    d = e.check(ctx())
    assert not d.allowed
    assert d.rule_id == "ban"
    assert "restricted" in (d.reason or "")
    assert allowed(e, ctx(instrument_id=ETH))
    assert allowed(e, ctx(side=Side.SELL, position_qty=Decimal("2")))


def test_trading_hours_plain_and_wrapping() -> None:
    weekday, minute = utc_weekday_minute(MONDAY_NOON)
    assert (weekday, minute) == (0, 720)
    day = Rule(id="h", kind=RuleKind.TRADING_HOURS, hours=(HoursWindow(540, 720),))
    e = engine(day)
    assert allowed(e, ctx(now_ns=MONDAY_NOON - 1))  # 11:59:59.999
    assert not allowed(e, ctx(now_ns=MONDAY_NOON))  # end is exclusive
    night = HoursWindow(22 * 60, 2 * 60, frozenset({6}))  # starts Sunday 22:00
    e2 = engine(Rule(id="n", kind=RuleKind.TRADING_HOURS, hours=(night,)))
    monday_0100 = MONDAY_NOON - 11 * 3600 * SEC
    assert allowed(e2, ctx(now_ns=monday_0100))
    assert not allowed(e2, ctx(now_ns=monday_0100 + 86_400 * SEC))  # Tuesday 01:00
    assert not allowed(e2, ctx(now_ns=MONDAY_NOON))


@pytest.mark.parametrize(
    ("level", "key"),
    [
        (KillSwitchLevel.GLOBAL, None),
        (KillSwitchLevel.ORG, "org_a"),
        (KillSwitchLevel.USER, "usr_1"),
        (KillSwitchLevel.ACCOUNT, "acc_1"),
    ],
)
def test_kill_switch_levels(level: KillSwitchLevel, key: str | None) -> None:
    e = engine(kills=(KillSwitch(level, key, reason="ops"),))
    d = e.check(ctx())
    assert not d.allowed
    assert d.code == "kill_switch"
    assert "ops" in (d.reason or "")
    assert allowed(e, ctx(side=Side.SELL, position_qty=Decimal("1")))  # flatten passes
    other = ctx(org="org_b", user_id="usr_2", account_id="acc_2")
    assert allowed(e, other) is (level is not KillSwitchLevel.GLOBAL)


def test_hard_kill_switch_blocks_reducing_too() -> None:
    e = engine(kills=(KillSwitch(KillSwitchLevel.ACCOUNT, "acc_1", allow_reducing=False),))
    assert not allowed(e, ctx(side=Side.SELL, position_qty=Decimal("1")))


def test_all_covering_rules_apply_tightest_wins() -> None:
    loose = rule(RuleKind.MAX_ORDER_QUANTITY, "10", id="acct", scope=Scope(account_id="acc_1"))
    tight = rule(RuleKind.MAX_ORDER_QUANTITY, "2", id="org", scope=Scope(org="org_a"))
    e = engine(loose, tight)
    d = e.check(ctx(quantity=Quantity("3")))
    assert not d.allowed
    assert d.rule_id == "org"
    assert d.evaluated == ("acct", "org")  # narrowest first, then rejected by the org rule
    assert allowed(e, ctx(quantity=Quantity("3"), org="org_b"))


def test_scope_fields_combine_and_strategy_none_never_matches_strategy_rule() -> None:
    r = rule(
        RuleKind.MAX_POSITION,
        "1",
        scope=Scope(account_id="acc_1", instrument=str(BTC)),
    )
    s = rule(RuleKind.MAX_ORDER_QUANTITY, "1", scope=Scope(strategy_id="stg_1"))
    e = engine(r, s)
    assert not allowed(e, ctx(quantity=Quantity("2"), instrument_id=BTC))
    assert allowed(e, ctx(quantity=Quantity("2"), instrument_id=ETH))
    assert not allowed(e, ctx(quantity=Quantity("2"), instrument_id=ETH, strategy_id="stg_1"))


def test_disabled_rules_are_not_evaluated() -> None:
    e = engine(replace(rule(RuleKind.MAX_ORDER_QUANTITY, "1"), enabled=False))
    d = e.check(ctx(quantity=Quantity("5")))
    assert d.allowed
    assert d.evaluated == ()


def test_evaluation_order_is_by_kind_then_specificity() -> None:
    rules = (
        rule(RuleKind.MAX_DRAWDOWN, "0.5", id="dd"),
        rule(RuleKind.MAX_ORDER_QUANTITY, "100", id="qty"),
        Rule(id="ban", kind=RuleKind.RESTRICTED_INSTRUMENTS, instruments=frozenset({str(ETH)})),
    )
    assert engine(*rules).check(ctx()).evaluated == ("ban", "qty", "dd")


def test_ruleset_contradictions_name_the_field() -> None:
    a = rule(RuleKind.MAX_ORDER_QUANTITY, "1", id="a")
    with pytest.raises(Invalid) as exc:
        RuleSet(1, (a, replace(a, limit=Decimal(2))))
    assert exc.value.field == "rules[1].id"
    with pytest.raises(Invalid) as exc:
        RuleSet(1, (a, replace(a, id="b", limit=Decimal(2))))
    assert exc.value.field == "rules[1].scope"
    k = KillSwitch(KillSwitchLevel.GLOBAL)
    with pytest.raises(Invalid) as exc:
        RuleSet(1, (), (k, k))
    assert exc.value.field == "kill_switches[1]"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"kind": RuleKind.MAX_ORDER_QUANTITY}, "limit"),
        ({"kind": RuleKind.MAX_ORDER_QUANTITY, "limit": Decimal("-1")}, "limit"),
        ({"kind": RuleKind.MAX_ORDER_QUANTITY, "limit": Decimal("NaN")}, "limit"),
        ({"kind": RuleKind.MAX_ORDER_QUANTITY, "limit": Decimal("Infinity")}, "limit"),
        ({"kind": RuleKind.MAX_OPEN_ORDERS, "limit": Decimal("2.5")}, "limit"),
        ({"kind": RuleKind.ORDER_RATE, "limit": Decimal(1)}, "window_ns"),
        ({"kind": RuleKind.ORDER_RATE, "limit": Decimal(1), "window_ns": 0}, "window_ns"),
        ({"kind": RuleKind.RESTRICTED_INSTRUMENTS}, "instruments"),
        ({"kind": RuleKind.RESTRICTED_INSTRUMENTS, "instruments": frozenset({"x"})}, "instruments"),
        ({"kind": RuleKind.TRADING_HOURS}, "hours"),
        ({"kind": RuleKind.TRADING_HOURS, "limit": Decimal(1)}, "limit"),
        ({"kind": RuleKind.MAX_POSITION, "limit": Decimal(1), "window_ns": 5}, "window_ns"),
    ],
)
def test_rule_validation_names_field(kw: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as exc:
        Rule(id="x", **kw)
    assert exc.value.field == field


def test_hours_window_validation() -> None:
    with pytest.raises(Invalid) as exc:
        HoursWindow(60, 60)
    assert exc.value.field == "end_minute"
    with pytest.raises(Invalid):
        HoursWindow(0, 1441)
    with pytest.raises(Invalid):
        HoursWindow(0, 60, frozenset({7}))


def test_kill_switch_validation() -> None:
    with pytest.raises(Invalid):
        KillSwitch(KillSwitchLevel.ACCOUNT)
    with pytest.raises(Invalid):
        KillSwitch(KillSwitchLevel.GLOBAL, "x")
    assert KillSwitch(KillSwitchLevel.ORG, "o").id == "kill:org:o"


def test_scope_rejects_bad_instrument() -> None:
    with pytest.raises(Invalid):
        Scope(instrument="BTCUSDT")
    with pytest.raises(Invalid):
        Scope(org="")
