"""Pre-trade risk: a pure, fast evaluator of declarative rules against one order.

The risk service owns the rules; the trading engine holds a `PreTradeEngine` built from
the latest `RuleSet` and calls `check` before every order leaves the process, so the check
must cost microseconds and never do I/O. Everything the rules need (position, exposure,
open orders, recent submissions, equity, PnL, drawdown) arrives in the `OrderContext`.

Scope semantics — **every rule that covers the order applies** (not "most specific
wins"). A rule is a ceiling, so the tightest covering ceiling decides. A more specific
scope can tighten a broader limit but never loosen it: an account cannot escape its
organisation's limit by having a rule of its own. To give one account more room, scope the
tighter rule to the others instead. This keeps the answer to "can this order pass?"
independent of which rules happen to exist at narrower scopes.

Evaluation order: kill switches, then rules by kind (cheap stateless checks first:
restricted instruments, trading hours, quantity, notional, price band, open orders, rate,
then position, exposure, leverage, loss, drawdown), then by specificity (narrowest first)
and id, so a rejection names the same rule every time. The first failure stops the check.

An order that only shrinks a position passes every rule that guards risk growth (position,
exposure, leverage, loss, drawdown, restricted instruments) and, unless the switch says
otherwise, an engaged kill switch: a breached account can always be flattened. Missing
inputs fail closed: no order price and no mark refuses notional and exposure rules, and
equity at or below zero refuses the leverage rule.

Compilation: rules are indexed by their most selective scope field (account, strategy,
user, org, instrument, global). A check looks up at most six buckets and filters only the
rules there; the resulting ordered list is memoised per (org, user, account, strategy,
instrument), so a steady stream of orders costs one dict lookup plus the checks that apply.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from argosy.kernel._pretrade_checks import CHECKS, Facts, utc_weekday_minute
from argosy.kernel._pretrade_types import (
    HoursWindow,
    KillSwitch,
    KillSwitchLevel,
    OrderContext,
    PreTradeDecision,
    Rule,
    RuleKind,
    Scope,
)
from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId

__all__ = [
    "HoursWindow",
    "KillSwitch",
    "KillSwitchLevel",
    "OrderContext",
    "PreTradeDecision",
    "PreTradeEngine",
    "Rule",
    "RuleKind",
    "RuleSet",
    "Scope",
    "utc_weekday_minute",
]

_KIND_ORDER: dict[RuleKind, int] = {
    kind: rank
    for rank, kind in enumerate(
        (
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
        )
    )
}
_CACHE_LIMIT = 4096

_ScopeKey = tuple[str, str | None]
_OrderKey = tuple[str, str, str, str | None, str]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One version of the rules and the engaged kill switches, validated as a whole.

    Contradictions raise `Invalid` naming the offending entry (`rules[3].scope`): a
    repeated rule id, or two rules of the same kind over the same scope (which of the two
    limits was meant is unknowable, so the set is refused rather than guessed at).
    """

    version: int
    rules: tuple[Rule, ...] = ()
    kill_switches: tuple[KillSwitch, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise Invalid("version must be an integer", field="version")
        if self.version < 0:
            raise Invalid("version must not be negative", field="version")
        ids: dict[str, int] = {}
        seen: dict[tuple[RuleKind, Scope], int] = {}
        for i, rule in enumerate(self.rules):
            if not isinstance(rule, Rule):
                raise Invalid("rules must hold Rule values", field=f"rules[{i}]")
            if rule.id in ids:
                raise Invalid(
                    f"rule id {rule.id!r} is already used by rules[{ids[rule.id]}]",
                    field=f"rules[{i}].id",
                )
            ids[rule.id] = i
            key = (rule.kind, rule.scope)
            if key in seen:
                raise Invalid(
                    f"rules[{i}] repeats {rule.kind} for scope {rule.scope.label()} "
                    f"already limited by rules[{seen[key]}]",
                    field=f"rules[{i}].scope",
                )
            seen[key] = i
        switches: set[str] = set()
        for i, switch in enumerate(self.kill_switches):
            if not isinstance(switch, KillSwitch):
                raise Invalid("kill_switches must hold KillSwitch values", field="kill_switches")
            if switch.id in switches:
                raise Invalid(f"{switch.id} is engaged twice", field=f"kill_switches[{i}]")
            switches.add(switch.id)


@dataclass(frozen=True, slots=True)
class _Plan:
    """The rules covering one (org, user, account, strategy, instrument), ready to run."""

    rules: tuple[Rule, ...]
    steps: tuple[tuple[Rule, Callable[[Rule, Facts], str | None]], ...]
    ids: tuple[str, ...]


def _primary(scope: Scope) -> _ScopeKey:
    """The most selective pinned field: the bucket a rule is filed under."""
    if scope.account_id is not None:
        return ("account", scope.account_id)
    if scope.strategy_id is not None:
        return ("strategy", scope.strategy_id)
    if scope.user_id is not None:
        return ("user", scope.user_id)
    if scope.org is not None:
        return ("org", scope.org)
    if scope.instrument is not None:
        return ("instrument", scope.instrument)
    return ("global", None)


def _covers(scope: Scope, key: _OrderKey) -> bool:
    org, user, account, strategy, instrument = key
    return (
        (scope.org is None or scope.org == org)
        and (scope.user_id is None or scope.user_id == user)
        and (scope.account_id is None or scope.account_id == account)
        and (scope.strategy_id is None or scope.strategy_id == strategy)
        and (scope.instrument is None or scope.instrument == instrument)
    )


def _rank(rule: Rule) -> tuple[int, int, str]:
    return (_KIND_ORDER[rule.kind], -rule.scope.specificity, rule.id)


class PreTradeEngine:
    """A compiled `RuleSet`. Immutable after construction: reload by building a new one
    and swapping the reference, which is atomic for the threads reading it."""

    __slots__ = ("_buckets", "_cache", "_kills", "_names", "ruleset")

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        buckets: defaultdict[_ScopeKey, list[Rule]] = defaultdict(list)
        for rule in ruleset.rules:
            if rule.enabled:
                buckets[_primary(rule.scope)].append(rule)
        self._buckets: dict[_ScopeKey, tuple[Rule, ...]] = {k: tuple(v) for k, v in buckets.items()}
        self._kills: dict[_ScopeKey, KillSwitch] = {
            (str(s.level), s.key): s for s in ruleset.kill_switches
        }
        self._cache: dict[_OrderKey, _Plan] = {}
        self._names: dict[InstrumentId, str] = {}  # str(InstrumentId) costs more than a hash

    @property
    def version(self) -> int:
        return self.ruleset.version

    def rules_for(self, ctx: OrderContext) -> tuple[Rule, ...]:
        """The enabled rules covering this order, in evaluation order."""
        return self._plan(self._key(ctx, self._name(ctx.instrument_id))).rules

    def _name(self, instrument: InstrumentId) -> str:
        name = self._names.get(instrument)
        if name is None:
            if len(self._names) >= _CACHE_LIMIT:
                self._names.clear()
            name = self._names[instrument] = str(instrument)
        return name

    @staticmethod
    def _key(ctx: OrderContext, instrument: str) -> _OrderKey:
        return (ctx.org, ctx.user_id, ctx.account_id, ctx.strategy_id, instrument)

    def _plan(self, key: _OrderKey) -> _Plan:
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        org, user, account, strategy, instrument = key
        found: list[Rule] = []
        for bucket in (
            ("account", account),
            ("strategy", strategy),
            ("user", user),
            ("org", org),
            ("instrument", instrument),
            ("global", None),
        ):
            if bucket[0] == "strategy" and strategy is None:
                continue
            found.extend(r for r in self._buckets.get(bucket, ()) if _covers(r.scope, key))
        rules = tuple(sorted(found, key=_rank))
        plan = _Plan(
            rules,
            tuple((rule, CHECKS[rule.kind]) for rule in rules),
            tuple(rule.id for rule in rules),
        )
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = plan
        return plan

    def _kill_switches(self, ctx: OrderContext) -> list[KillSwitch]:
        kills = self._kills
        if not kills:
            return []
        keys: tuple[_ScopeKey, ...] = (
            ("global", None),
            ("org", ctx.org),
            ("user", ctx.user_id),
            ("account", ctx.account_id),
        )
        return [kills[k] for k in keys if k in kills]

    def check(self, ctx: OrderContext) -> PreTradeDecision:
        instrument = self._name(ctx.instrument_id)
        facts = Facts(ctx, instrument)
        killed: tuple[str, ...] = ()
        if self._kills:
            for switch in self._kill_switches(ctx):
                killed += (switch.id,)
                if not (switch.allow_reducing and facts.reducing):
                    reason = f"kill switch engaged ({switch.level}" + (
                        f" {switch.key})" if switch.key else ")"
                    )
                    if switch.reason:
                        reason += f": {switch.reason}"
                    return PreTradeDecision(False, switch.id, "kill_switch", reason, killed)
        plan = self._plan(self._key(ctx, instrument))
        for i, (rule, run) in enumerate(plan.steps):
            failure = run(rule, facts)
            if failure is not None:
                evaluated = killed + plan.ids[: i + 1]
                return PreTradeDecision(False, rule.id, str(rule.kind), failure, evaluated)
        return PreTradeDecision(True, evaluated=killed + plan.ids)
