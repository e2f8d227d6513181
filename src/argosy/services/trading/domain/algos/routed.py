"""A smart-order-routed parent: the router's plan carried out as one IOC limit child per
venue account, tracked with the same bookkeeping as every other algorithm.

`route()` (domain/sor.py) is one-shot and stateless; wrapping its plan in a `ParentAlgo`
gives the SOR order the same life as a TWAP: a row with status and children, cumulative
reports folded in, cancel, restart from a checkpoint. The first `step` sends every
allocation at once; the parent ends when no child is open any more (completed, or
`expired` with what the book no longer offered within the children's limits).
"""

from __future__ import annotations

from dataclasses import dataclass

from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import OrderRequest, OrderType, TimeInForce
from argosy.services.trading.domain.algos._base import ParentAlgo
from argosy.services.trading.domain.algos._model import (
    AlgoStatus,
    ChildOrder,
    Intent,
    MarketSnapshot,
    ParentSpec,
    SubmitChild,
)

__all__ = ["Leg", "Routed"]


@dataclass(frozen=True, slots=True)
class Leg:
    """One allocation of the plan: `account_id` is the venue account that trades it."""

    account_id: str
    quantity: Quantity
    limit_price: Price


class Routed(ParentAlgo):
    kind = "sor"

    def __init__(self, spec: ParentSpec, created_ns: int, *, legs: list[Leg]) -> None:
        super().__init__(spec, created_ns)
        self.legs = legs
        self.sent = False
        self.accounts: dict[str, str] = {}  # child id -> account id

    def account_of(self, child_id: str) -> str | None:
        """The account a child must be placed on (the service asks before storing it)."""
        return self.accounts.get(child_id)

    def _plan(self, now_ns: int, market: MarketSnapshot) -> list[Intent]:
        if self.sent:
            return self._finish_if_done()
        self.sent = True
        intents: list[Intent] = []
        instrument = self.spec.instrument
        for leg in self.legs:
            quantity = instrument.round_qty(min(leg.quantity, self.uncommitted))
            if quantity.is_zero():
                continue
            self._seq += 1
            child_id = f"{self.spec.algo_id}-{self._seq}"
            self.children[child_id] = self._open[child_id] = ChildOrder(
                child_id, quantity, leg.limit_price, now_ns)
            self.accounts[child_id] = leg.account_id
            intents.append(SubmitChild(
                OrderRequest(child_id, instrument.id, self.side, OrderType.LIMIT, quantity,
                             price=leg.limit_price, time_in_force=TimeInForce.IOC),
                f"route {quantity} to {leg.account_id} at <= {leg.limit_price}"))
        if not intents:
            return self._stop(AlgoStatus.EXPIRED, "the plan routed nothing")
        return intents

    def _after_report(self, child: ChildOrder, now_ns: int) -> list[Intent]:
        return self._finish_if_done()

    def _finish_if_done(self) -> list[Intent]:
        if not self.sent or self.open_children() or self.status.is_terminal:
            return []
        left = self.spec.quantity - self.filled
        return self._stop(AlgoStatus.EXPIRED, f"{left} unfilled: the IOC children met less "
                          "than the planned depth within their limits")

    def _extra_state(self) -> dict[str, object]:
        return {"sent": self.sent, "accounts": dict(self.accounts)}

    def _restore_extra(self, extra: dict[str, object]) -> None:
        self.sent = bool(extra.get("sent", False))
        accounts = extra.get("accounts") or {}
        assert isinstance(accounts, dict)
        self.accounts = {str(k): str(v) for k, v in accounts.items()}
