"""Risk service API (/api/v1/risk) and its `risk.rules.changed` event.

The rule set travels as JSON (decimals as strings, times as "HH:MM" UTC) and becomes a
kernel `RuleSet` through `to_ruleset`, which is where every semantic check happens, so the
risk service (on PUT) and the trading engine (on reload) refuse exactly the same input.
Errors are kernel `Invalid` naming the entry, e.g. `rules[2].limit`, which the HTTP layer
turns into a 422; a refused update leaves the previous rules in force.

Trading reloads with one line: `RuleSetOut.model_validate(payload).to_ruleset()`, where
the payload is either `GET /internal/v1/risk/rules` or the `ruleset` of a `RulesChanged`
event.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from argosy.kernel.errors import Invalid
from argosy.kernel.money import Price, to_decimal
from argosy.kernel.pretrade import (
    HoursWindow,
    KillSwitch,
    KillSwitchLevel,
    Rule,
    RuleKind,
    RuleSet,
    Scope,
)

__all__ = [
    "AlertOut",
    "CheckRequest",
    "CheckResult",
    "ExposureOut",
    "HoursIn",
    "KillSwitchIn",
    "KillSwitchRequest",
    "PositionExposure",
    "ReportOut",
    "ReportRequest",
    "RuleIn",
    "RuleSetOut",
    "RuleSetWrite",
    "RulesChanged",
    "ScopeIn",
    "StopIn",
    "StopOut",
    "rule_to_wire",
    "ruleset_to_wire",
]

_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")
_NS_PER_MS = 1_000_000
RuleKindName = Literal[
    "max_order_quantity",
    "max_order_notional",
    "price_band_bps",
    "max_position",
    "max_gross_exposure",
    "max_net_exposure",
    "max_leverage",
    "max_open_orders",
    "order_rate",
    "daily_loss_limit",
    "max_drawdown",
    "restricted_instruments",
    "trading_hours",
]
LevelName = Literal["global", "org", "user", "account"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopeIn(_Strict):
    """Every field set must match the order; none set = global."""

    org: str | None = Field(None, min_length=1, max_length=64)
    user_id: str | None = Field(None, min_length=1, max_length=64)
    account_id: str | None = Field(None, min_length=1, max_length=64)
    strategy_id: str | None = Field(None, min_length=1, max_length=64)
    instrument: str | None = Field(None, description="e.g. BTC-USDT.binance")


class HoursIn(_Strict):
    """A UTC window [start, end); end before start wraps midnight. 0 = Monday."""

    start: str = Field(description="HH:MM UTC")
    end: str = Field(description="HH:MM UTC, 24:00 allowed")
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)), max_length=7)


class RuleIn(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: RuleKindName
    scope: ScopeIn = Field(default_factory=ScopeIn)
    limit: str | None = Field(
        None,
        max_length=50,
        description="Decimal string. Units by kind: base qty, account currency, ratio, "
        "fraction of peak (drawdown), bps (price band), count (open orders, rate).",
    )
    window_ms: int | None = Field(None, description="order_rate only: the window length.")
    instruments: list[str] = Field(default_factory=list, max_length=1000)
    hours: list[HoursIn] = Field(default_factory=list, max_length=50)
    enabled: bool = True
    description: str = Field("", max_length=500)


class KillSwitchIn(_Strict):
    level: LevelName
    key: str | None = Field(None, min_length=1, max_length=64)
    reason: str = Field("", max_length=500)
    allow_reducing: bool = True


class RuleSetWrite(_Strict):
    """PUT /api/v1/risk/rules: the complete new rule set (kill switches are separate)."""

    rules: list[RuleIn] = Field(max_length=1000)
    expected_version: int | None = Field(
        None, ge=0, description="Optimistic lock: the version you read."
    )
    comment: str | None = Field(None, max_length=500)


class RuleSetOut(BaseModel):
    """The rule set in force, as served to users and to the trading engine."""

    version: int
    rules: list[RuleIn]
    kill_switches: list[KillSwitchIn] = Field(default_factory=list)
    updated_at_ms: int = 0
    updated_by: str = ""

    def to_ruleset(self) -> RuleSet:
        return to_ruleset(self.version, self.rules, self.kill_switches)


class RulesChanged(BaseModel):
    """`risk.rules.changed`: the whole new rule set, so a consumer needs no round trip."""

    version: int
    at_ms: int
    reason: Literal["rules", "kill_switch"]
    ruleset: RuleSetOut


def _minute(text: str, field: str) -> int:
    match = _HHMM.fullmatch(text)
    if match is None:
        raise Invalid(f"{field} must be HH:MM (UTC), got {text[:10]!r}", field=field)
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _rule(spec: RuleIn, at: str) -> Rule:
    hours = tuple(_hours(h, f"{at}.hours[{j}]") for j, h in enumerate(spec.hours))
    try:
        return Rule(
            id=spec.id,
            kind=RuleKind(spec.kind),
            scope=Scope(**spec.scope.model_dump()),
            limit=None if spec.limit is None else to_decimal(spec.limit, "limit"),
            window_ns=None if spec.window_ms is None else spec.window_ms * _NS_PER_MS,
            instruments=frozenset(spec.instruments),
            hours=hours,
            enabled=spec.enabled,
            description=spec.description,
        )
    except Invalid as exc:
        where = {"window_ns": "window_ms"}.get(exc.field or "", exc.field or "")
        raise Invalid(exc.message, field=f"{at}.{where}".rstrip(".")) from exc


def _hours(spec: HoursIn, at: str) -> HoursWindow:
    try:
        return HoursWindow(
            _minute(spec.start, "start"), _minute(spec.end, "end"), frozenset(spec.weekdays)
        )
    except Invalid as exc:
        names = {"start_minute": "start", "end_minute": "end"}
        field = names.get(exc.field or "", exc.field or "")
        raise Invalid(exc.message, field=f"{at}.{field}") from exc


def to_ruleset(
    version: int, rules: list[RuleIn], kill_switches: list[KillSwitchIn] | None = None
) -> RuleSet:
    """Validate and convert; raises `Invalid` naming the offending entry."""
    built = tuple(_rule(spec, f"rules[{i}]") for i, spec in enumerate(rules))
    switches = []
    for i, k in enumerate(kill_switches or ()):
        try:
            switches.append(KillSwitch(KillSwitchLevel(k.level), k.key, k.reason, k.allow_reducing))
        except Invalid as exc:
            raise Invalid(exc.message, field=f"kill_switches[{i}].{exc.field}") from exc
    return RuleSet(version, built, tuple(switches))


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def rule_to_wire(rule: Rule) -> RuleIn:
    s = rule.scope
    return RuleIn(
        id=rule.id,
        kind=rule.kind.value,
        scope=ScopeIn(
            org=s.org,
            user_id=s.user_id,
            account_id=s.account_id,
            strategy_id=s.strategy_id,
            instrument=s.instrument,
        ),
        limit=None if rule.limit is None else Price(rule.limit).to_str(),
        window_ms=None if rule.window_ns is None else rule.window_ns // _NS_PER_MS,
        instruments=sorted(rule.instruments),
        hours=[
            HoursIn(
                start=_hhmm(h.start_minute), end=_hhmm(h.end_minute), weekdays=sorted(h.weekdays)
            )
            for h in rule.hours
        ],
        enabled=rule.enabled,
        description=rule.description,
    )


def ruleset_to_wire(ruleset: RuleSet, updated_at_ms: int = 0, updated_by: str = "") -> RuleSetOut:
    return RuleSetOut(
        version=ruleset.version,
        rules=[rule_to_wire(r) for r in ruleset.rules],
        kill_switches=[
            KillSwitchIn(
                level=k.level.value, key=k.key, reason=k.reason, allow_reducing=k.allow_reducing
            )
            for k in ruleset.kill_switches
        ],
        updated_at_ms=updated_at_ms,
        updated_by=updated_by,
    )


class CheckRequest(_Strict):
    """POST /api/v1/risk/check: a hypothetical order. The risk service fills the account
    state (position, exposure, PnL) from its real-time view; fields given here override."""

    account_id: str = Field(min_length=1, max_length=64)
    instrument: str
    side: Literal["buy", "sell"]
    quantity: str = Field(max_length=50)
    price: str | None = Field(None, max_length=50)
    strategy_id: str | None = Field(None, max_length=64)
    mark_price: str | None = Field(None, max_length=50)
    position_qty: str | None = Field(None, max_length=50)
    open_orders: int | None = Field(None, ge=0)


class CheckResult(BaseModel):
    allowed: bool
    rule_id: str | None
    code: str | None
    reason: str | None
    evaluated: list[str]
    version: int


class KillSwitchRequest(_Strict):
    """POST /api/v1/risk/kill-switch: engage (or release with `engaged=false`)."""

    level: LevelName
    key: str | None = Field(None, min_length=1, max_length=64)
    engaged: bool = True
    reason: str = Field("", max_length=500)
    allow_reducing: bool = True
    cancel_orders: bool = Field(True, description="Also cancel the scope's open orders.")


class PositionExposure(BaseModel):
    account_id: str
    instrument: str
    quantity: str
    mark_price: str | None
    notional: str
    unrealized_pnl: str
    realized_pnl: str


class ExposureOut(BaseModel):
    """Per scope (account, user or org): amounts in the quote currency, ratios as strings."""

    scope: Literal["account", "user", "org"]
    key: str
    gross_exposure: str
    net_exposure: str
    realized_pnl: str
    unrealized_pnl: str
    equity: str
    peak_equity: str
    drawdown: str
    day_pnl: str
    concentration: str = Field(description="Largest single-instrument share of gross.")
    leverage: str | None = Field(None, description="Gross / equity; None at equity <= 0.")
    var_95: str | None = None
    expected_shortfall_95: str | None = None
    margin_used: str = Field("0", description="Perpetuals' |qty| x mark / leverage.")
    margin_usage: str | None = Field(None, description="Margin used / equity; None at <= 0.")
    liquidation_distance: str | None = Field(
        None, description="Closest |mark - liquidation| / mark; None without one.")
    positions: list[PositionExposure] = Field(default_factory=list)


class AlertOut(BaseModel):
    alert_id: str
    severity: Literal["info", "warning", "critical"]
    kind: str
    message: str
    scope: str
    key: str | None
    account_id: str | None
    at_ms: int


class StopIn(_Strict):
    """Server-side protection for one position: any of stop-loss, take-profit, trailing."""

    account_id: str = Field(min_length=1, max_length=64)
    instrument: str
    stop_loss: str | None = Field(None, max_length=50)
    take_profit: str | None = Field(None, max_length=50)
    trailing_bps: int | None = Field(None, gt=0, le=5000)


class StopOut(BaseModel):
    stop_id: str
    account_id: str
    instrument: str
    stop_loss: str | None
    take_profit: str | None
    trailing_bps: int | None
    trail_anchor: str | None
    status: Literal["active", "triggered", "cancelled"]
    created_at_ms: int
    triggered_at_ms: int | None = None


class ReportRequest(_Strict):
    scope: Literal["account", "org"] = "account"
    key: str | None = Field(None, min_length=1, max_length=64)


class ReportOut(BaseModel):
    report_id: str
    scope: str
    key: str
    kind: Literal["daily", "on_demand"]
    html_key: str
    pdf_key: str | None
    created_at_ms: int
