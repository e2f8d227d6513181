"""Properties of the compiled evaluator: same answer as a naive scan, exact boundaries,
indifference to how a Decimal is spelled."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from argosy.kernel._pretrade_checks import CHECKS, Facts
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.pretrade import (
    KillSwitch,
    KillSwitchLevel,
    OrderContext,
    PreTradeEngine,
    Rule,
    RuleKind,
    RuleSet,
    Scope,
)

INSTRUMENTS = [InstrumentId.parse(t) for t in ("BTC-USDT.binance", "ETH-USDT.binance")]
ORGS, USERS, ACCOUNTS, STRATS = ["o1", "o2"], ["u1", "u2"], ["a1", "a2", "a3"], ["s1", None]
NOW = 1_704_110_400_000_000_000

amounts = st.decimals(min_value=0, max_value=10**6, places=8, allow_nan=False)
signed = st.decimals(min_value=-(10**6), max_value=10**6, places=8, allow_nan=False)
NUMERIC = [
    k
    for k in RuleKind
    if k not in (RuleKind.RESTRICTED_INSTRUMENTS, RuleKind.TRADING_HOURS, RuleKind.ORDER_RATE)
]


@st.composite
def scopes(draw: st.DrawFn) -> Scope:
    def maybe(values: list[str | None]) -> str | None:
        return draw(st.one_of(st.none(), st.sampled_from(values)))

    return Scope(
        org=maybe(list(ORGS)),
        user_id=maybe(list(USERS)),
        account_id=maybe(list(ACCOUNTS)),
        strategy_id=maybe(["s1"]),
        instrument=maybe([str(i) for i in INSTRUMENTS]),
    )


@st.composite
def rules(draw: st.DrawFn, i: int) -> Rule:
    kind = draw(st.sampled_from([*NUMERIC, RuleKind.ORDER_RATE, RuleKind.RESTRICTED_INSTRUMENTS]))
    scope = draw(scopes())
    if kind is RuleKind.RESTRICTED_INSTRUMENTS:
        return Rule(
            id=f"r{i}", kind=kind, scope=scope, instruments=frozenset({str(INSTRUMENTS[0])})
        )
    if kind in (RuleKind.MAX_OPEN_ORDERS, RuleKind.ORDER_RATE):
        limit = Decimal(draw(st.integers(0, 5)))
    elif kind is RuleKind.MAX_DRAWDOWN:
        limit = draw(st.decimals(min_value=0, max_value=1, places=4))
    else:
        limit = draw(amounts)
    window = 10**9 if kind is RuleKind.ORDER_RATE else None
    return Rule(id=f"r{i}", kind=kind, scope=scope, limit=limit, window_ns=window)


@st.composite
def rulesets(draw: st.DrawFn) -> RuleSet:
    n = draw(st.integers(0, 25))
    found: list[Rule] = []
    seen: set[tuple[RuleKind, Scope]] = set()
    for i in range(n):
        r = draw(rules(i))
        if (r.kind, r.scope) not in seen:
            seen.add((r.kind, r.scope))
            found.append(r)
    kills = draw(
        st.lists(
            st.sampled_from(
                [KillSwitch(KillSwitchLevel.ACCOUNT, "a3"), KillSwitch(KillSwitchLevel.USER, "u2")]
            ),
            max_size=2,
            unique=True,
        )
    )
    return RuleSet(1, tuple(found), tuple(kills))


@st.composite
def contexts(draw: st.DrawFn) -> OrderContext:
    price = draw(st.one_of(st.none(), amounts.filter(bool).map(Price)))
    mark = draw(st.one_of(st.none(), amounts.filter(bool).map(Price)))
    return OrderContext(
        org=draw(st.sampled_from(ORGS)),
        user_id=draw(st.sampled_from(USERS)),
        account_id=draw(st.sampled_from(ACCOUNTS)),
        strategy_id=draw(st.sampled_from(STRATS)),
        instrument_id=draw(st.sampled_from(INSTRUMENTS)),
        side=draw(st.sampled_from(list(Side))),
        quantity=Quantity(draw(st.decimals(min_value=0, max_value=100, places=8))),
        price=price,
        mark_price=mark,
        now_ns=NOW,
        position_qty=draw(st.decimals(min_value=-100, max_value=100, places=8)),
        open_orders=draw(st.integers(0, 8)),
        recent_order_ns=sorted(draw(st.lists(st.integers(NOW - 2 * 10**9, NOW), max_size=6))),
        gross_exposure=draw(amounts),
        net_exposure=draw(signed),
        equity=draw(signed),
        day_pnl=draw(signed),
        drawdown=draw(st.decimals(min_value=0, max_value=1, places=4)),
    )


def naive(ruleset: RuleSet, c: OrderContext) -> tuple[bool, str | None]:
    """Linear reference: every enabled covering rule, evaluated in the documented order."""
    facts = Facts(c)
    level_order = list(KillSwitchLevel)  # global, org, user, account: broadest first
    for k in sorted(ruleset.kill_switches, key=lambda k: level_order.index(k.level)):
        key = {"account": c.account_id, "user": c.user_id, "org": c.org}.get(str(k.level))
        covered = k.level is KillSwitchLevel.GLOBAL or k.key == key
        if covered and not (k.allow_reducing and facts.reducing):
            return False, k.id
    ranks = {kind: i for i, kind in enumerate(_documented_order())}
    covering = [
        r
        for r in ruleset.rules
        if r.enabled
        and all(
            want is None or want == have
            for want, have in (
                (r.scope.org, c.org),
                (r.scope.user_id, c.user_id),
                (r.scope.account_id, c.account_id),
                (r.scope.strategy_id, c.strategy_id),
                (r.scope.instrument, str(c.instrument_id)),
            )
        )
    ]
    covering.sort(key=lambda r: (ranks[r.kind], -r.scope.specificity, r.id))
    for r in covering:
        if CHECKS[r.kind](r, facts) is not None:
            return False, r.id
    return True, None


def _documented_order() -> list[RuleKind]:
    return [
        RuleKind.RESTRICTED_INSTRUMENTS,
        RuleKind.TRADING_HOURS,
        RuleKind.MAX_ORDER_QUANTITY,
        RuleKind.MAX_ORDER_NOTIONAL,
        RuleKind.PRICE_BAND_BPS,
        RuleKind.MAX_OPEN_ORDERS,
        RuleKind.ORDER_RATE,
        RuleKind.MAX_POSITION,
        RuleKind.MAX_GROSS_EXPOSURE,
        RuleKind.MAX_NET_EXPOSURE,
        RuleKind.MAX_LEVERAGE,
        RuleKind.DAILY_LOSS_LIMIT,
        RuleKind.MAX_DRAWDOWN,
    ]


@settings(max_examples=150, deadline=None)
@given(rulesets(), st.lists(contexts(), min_size=1, max_size=5))
def test_compiled_index_agrees_with_naive_scan(ruleset: RuleSet, cs: list[OrderContext]) -> None:
    engine = PreTradeEngine(ruleset)
    for c in cs + cs:  # the second pass runs from the memo
        d = engine.check(c)
        assert (d.allowed, d.rule_id) == naive(ruleset, c)
        assert (d.rule_id is None) == d.allowed
        if not d.allowed:
            assert d.evaluated[-1] == d.rule_id
            assert d.reason


@settings(max_examples=100, deadline=None)
@given(amounts, st.integers(-8, 0))
def test_quantity_limit_is_inclusive_and_one_tick_over_fails(limit: Decimal, exp: int) -> None:
    tick = Decimal(1).scaleb(exp)
    limit = limit.quantize(tick) if limit.adjusted() + 1 - exp <= 38 else limit
    engine = PreTradeEngine(
        RuleSet(1, (Rule(id="q", kind=RuleKind.MAX_ORDER_QUANTITY, limit=limit),))
    )
    c = OrderContext(
        "o1", "u1", "a1", None, INSTRUMENTS[0], Side.BUY, Quantity(limit), None, None, NOW
    )
    assert engine.check(c).allowed
    over = OrderContext(
        "o1", "u1", "a1", None, INSTRUMENTS[0], Side.BUY, Quantity(limit + tick), None, None, NOW
    )
    assert not engine.check(over).allowed


@settings(max_examples=100, deadline=None)
@given(rulesets(), contexts(), st.integers(0, 6))
def test_spelling_of_limits_does_not_matter(ruleset: RuleSet, c: OrderContext, pad: int) -> None:
    """1E+2, 100 and 100.000 are the same limit."""

    def respell(r: Rule) -> Rule:
        if r.limit is None:
            return r
        spelled = r.limit.normalize() if pad == 0 else r.limit.quantize(Decimal(1).scaleb(-pad))
        if spelled != r.limit:
            return r
        return Rule(r.id, r.kind, r.scope, spelled, r.window_ns, r.instruments, r.hours)

    other = RuleSet(1, tuple(respell(r) for r in ruleset.rules), ruleset.kill_switches)
    a, b = PreTradeEngine(ruleset).check(c), PreTradeEngine(other).check(c)
    assert (a.allowed, a.rule_id, a.evaluated) == (b.allowed, b.rule_id, b.evaluated)


@settings(max_examples=100, deadline=None)
@given(rulesets(), contexts())
def test_reducing_orders_pass_every_growth_rule(ruleset: RuleSet, c: OrderContext) -> None:
    """A strict reduction of a position is never blocked by position/exposure/loss rules."""
    if c.position_qty == 0:
        return
    side = Side.SELL if c.position_qty > 0 else Side.BUY
    qty = Quantity(abs(c.position_qty) / 2)
    reducing = OrderContext(
        c.org, c.user_id, c.account_id, c.strategy_id, c.instrument_id, side, qty,
        c.price, c.mark_price, c.now_ns, c.position_qty, c.open_orders, c.recent_order_ns,
        c.gross_exposure, c.net_exposure, c.equity, c.day_pnl, c.drawdown,
    )  # fmt: skip
    d = PreTradeEngine(ruleset).check(reducing)
    growth = {
        RuleKind.MAX_POSITION,
        RuleKind.MAX_GROSS_EXPOSURE,
        RuleKind.MAX_LEVERAGE,
        RuleKind.DAILY_LOSS_LIMIT,
        RuleKind.MAX_DRAWDOWN,
        RuleKind.RESTRICTED_INSTRUMENTS,
    }
    assert d.allowed or d.code not in {str(k) for k in growth} | {"kill_switch"}
