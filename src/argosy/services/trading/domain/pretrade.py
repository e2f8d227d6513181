"""The seam every order passes before it leaves: one call, allow or reject(rule, reason).

The rules are data owned by the risk service; the trading engine only evaluates them. A
`PreTradeGate` is anything that answers `check`; the service calls exactly one, right
before the order row is written, so no order reaches a venue around it. Until the risk
rule set is loaded the built-in instrument checks (tick, lot, min notional, balance) are
all that run, and `FailClosedGate` refuses everything when the rules were required but
could not be loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from argosy.kernel import pretrade as kernel
from argosy.kernel.instruments import Instrument
from argosy.kernel.money import Price
from argosy.services.trading.domain.checks import OrderSpec

__all__ = ["ALLOW", "AllowAll", "Decision", "FailClosedGate", "KernelGate", "OrderContext",
           "PreTradeGate"]


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: str | None = None
    reason: str | None = None

    @classmethod
    def reject(cls, rule: str, reason: str) -> Decision:
        return cls(False, rule, reason)


ALLOW = Decision(True)


@dataclass(frozen=True, slots=True)
class OrderContext:
    """Everything a rule may look at, gathered by the service in the order's transaction."""

    account_id: str
    org: str
    user_id: str
    instrument: Instrument
    spec: OrderSpec
    reference_price: Decimal | None
    mark_price: Decimal | None
    position_qty: Decimal
    open_orders: int
    now_ns: int
    recent_order_ns: Sequence[int] = ()
    gross_exposure: Decimal = Decimal(0)
    net_exposure: Decimal = Decimal(0)
    equity: Decimal = Decimal(0)


class PreTradeGate(Protocol):
    def check(self, ctx: OrderContext) -> Decision: ...


class AllowAll:
    """No risk rules loaded: the built-in checks (already run) are the only ones."""

    def check(self, ctx: OrderContext) -> Decision:
        return ALLOW


class FailClosedGate:
    """The rule set is required but unavailable: nothing leaves."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def check(self, ctx: OrderContext) -> Decision:
        return Decision.reject("rules_unavailable", self.reason)


class KernelGate:
    """The risk service's rules, evaluated by the kernel's `PreTradeEngine` (the same
    evaluator the risk service's dry-run and the backtester use)."""

    def __init__(self, engine: kernel.PreTradeEngine) -> None:
        self.engine = engine

    @property
    def version(self) -> int:
        return self.engine.version

    def check(self, ctx: OrderContext) -> Decision:
        spec = ctx.spec
        price = spec.price or spec.stop_price or (
            Price(ctx.reference_price) if ctx.reference_price is not None else None)
        verdict = self.engine.check(kernel.OrderContext(
            org=ctx.org, user_id=ctx.user_id, account_id=ctx.account_id, strategy_id=None,
            instrument_id=ctx.instrument.id, side=spec.side, quantity=spec.quantity,
            price=price,
            mark_price=Price(ctx.mark_price) if ctx.mark_price is not None else None,
            now_ns=ctx.now_ns, position_qty=ctx.position_qty, open_orders=ctx.open_orders,
            recent_order_ns=ctx.recent_order_ns, gross_exposure=ctx.gross_exposure,
            net_exposure=ctx.net_exposure, equity=ctx.equity))
        if verdict.allowed:
            return ALLOW
        return Decision.reject(verdict.rule_id or verdict.code or "risk",
                               verdict.reason or "refused by a risk rule")
