"""After-the-fact protection: account-level breaches and server-side stops.

The pre-trade rules stop an order from adding risk; these decide when risk that already
exists must be removed. A breach is judged against the same rule set (daily loss limit and
max drawdown rules whose scope covers the account and names no instrument or strategy),
so there is one place where limits are written. Stops are per position: stop-loss,
take-profit and a trailing stop that follows the best mark since it was set.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from argosy.kernel.money import MONEY_CONTEXT
from argosy.kernel.pretrade import Rule, RuleKind, RuleSet

__all__ = [
    "Breach",
    "Policy",
    "StopSpec",
    "StopTrigger",
    "backoff_s",
    "breaches",
    "evaluate_stop",
]

_BPS = Decimal(10_000)


class Policy(StrEnum):
    """What a breach does: alert only, cancel open orders, or cancel and flatten."""

    ALERT = "alert"
    CANCEL = "cancel"
    FLATTEN = "flatten"


@dataclass(frozen=True, slots=True)
class Breach:
    kind: str  # daily_loss_limit | max_drawdown
    rule_id: str
    limit: Decimal
    value: Decimal
    message: str


def _covers(rule: Rule, org: str, user_id: str, account_id: str) -> bool:
    s = rule.scope
    return (
        rule.enabled
        and s.instrument is None
        and s.strategy_id is None
        and s.org in (None, org)
        and s.user_id in (None, user_id)
        and s.account_id in (None, account_id)
    )


def breaches(
    ruleset: RuleSet,
    org: str,
    user_id: str,
    account_id: str,
    *,
    day_pnl: Decimal,
    drawdown: Decimal,
) -> list[Breach]:
    """Limits crossed strictly (being exactly at a limit is not a breach)."""
    found: list[Breach] = []
    for rule in ruleset.rules:
        if rule.limit is None or not _covers(rule, org, user_id, account_id):
            continue
        if rule.kind is RuleKind.DAILY_LOSS_LIMIT and -day_pnl > rule.limit:
            found.append(
                Breach(
                    str(rule.kind), rule.id, rule.limit, -day_pnl,
                    f"daily loss {-day_pnl} is beyond the limit {rule.limit}",
                )
            )  # fmt: skip
        elif rule.kind is RuleKind.MAX_DRAWDOWN and drawdown > rule.limit:
            found.append(
                Breach(
                    str(rule.kind), rule.id, rule.limit, drawdown,
                    f"drawdown {drawdown:.4f} from peak is beyond the limit {rule.limit}",
                )
            )  # fmt: skip
    return found


class StopTrigger(StrEnum):
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    TRAILING = "trailing_stop"


@dataclass(frozen=True, slots=True)
class StopSpec:
    stop_loss: Decimal | None
    take_profit: Decimal | None
    trailing_bps: int | None
    anchor: Decimal | None  # best mark seen since the stop was set (trailing only)


def evaluate_stop(
    spec: StopSpec, position_qty: Decimal, mark: Decimal
) -> tuple[StopTrigger | None, Decimal | None]:
    """(what fired, the new trailing anchor). A flat position fires nothing.

    Long: the stop-loss fires at or below its price, take-profit at or above, the trailing
    stop when the mark falls `trailing_bps` below the highest mark. Short mirrors all three.
    """
    if position_qty == 0:
        return None, spec.anchor
    long = position_qty > 0
    anchor = spec.anchor
    if spec.trailing_bps is not None and (
        anchor is None or (mark > anchor if long else mark < anchor)
    ):
        anchor = mark
    if spec.stop_loss is not None and (mark <= spec.stop_loss if long else mark >= spec.stop_loss):
        return StopTrigger.STOP_LOSS, anchor
    if spec.take_profit is not None and (
        mark >= spec.take_profit if long else mark <= spec.take_profit
    ):
        return StopTrigger.TAKE_PROFIT, anchor
    if spec.trailing_bps is not None and anchor is not None:
        move = MONEY_CONTEXT.multiply(anchor, Decimal(spec.trailing_bps))
        distance = MONEY_CONTEXT.multiply(MONEY_CONTEXT.subtract(anchor, mark), _BPS)
        if (distance if long else -distance) >= move:
            return StopTrigger.TRAILING, anchor
    return None, anchor


def backoff_s(failures: int, base_s: float, cap_s: float) -> float:
    """Delay before the next try after `failures` failed ones: base, 2 x base, 4 x base...
    up to `cap_s`, so a venue refusing a close is asked less and less often, never less
    than once per `cap_s` (the position must still be closed)."""
    if failures < 1:
        return 0.0
    return float(min(base_s * 2 ** min(failures - 1, 60), cap_s))
