"""The order state machine under any sequence of venue reports: late, repeated, out of
order, contradictory. Whatever arrives, the stored transitions are legal, the filled
quantity never shrinks, terminal is final, and a report applied twice changes nothing."""

from __future__ import annotations

from decimal import Decimal

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from argosy.kernel.orders import TERMINAL_STATUSES, OrderStatus
from argosy.services.trading.domain.lifecycle import ALLOWED, Step, advance

S = OrderStatus
QTY = Decimal(10)
REPORTABLE = [S.SUBMITTED_UNKNOWN, S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED,
              S.REJECTED, S.EXPIRED, S.SUBMITTED, S.NEW]


class OrderLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.status = S.NEW
        self.filled = Decimal(0)
        self.history: list[Step] = []
        self.last_report: tuple[OrderStatus, Decimal] | None = None

    def _apply(self, status: OrderStatus, filled: Decimal) -> list[Step]:
        before, before_filled = self.status, self.filled
        steps = advance(self.status, self.filled, QTY, status, filled)
        current = self.status
        for step in steps:
            assert step.status in ALLOWED[current], (current, step.status)
            current = step.status
        if steps:
            self.status = steps[-1].status
            self.filled = steps[-1].filled_quantity
        self.history += steps
        assert self.filled >= before_filled
        if before in TERMINAL_STATUSES:
            assert steps == []
        self.last_report = (status, filled)
        return steps

    @rule()
    def send(self) -> None:
        if self.status is S.NEW:
            steps = self._apply(S.SUBMITTED, Decimal(0))
            assert [s.status for s in steps] == [S.SUBMITTED]

    @rule(status=st.sampled_from(REPORTABLE),
          filled=st.integers(min_value=0, max_value=10).map(Decimal))
    def venue_report(self, status: OrderStatus, filled: Decimal) -> None:
        if status is S.FILLED:
            filled = QTY
        if status in (S.ACCEPTED, S.NEW, S.SUBMITTED, S.SUBMITTED_UNKNOWN) and filled == QTY:
            filled = QTY - 1
        self._apply(status, filled)

    @rule(filled=st.integers(min_value=0, max_value=9).map(Decimal))
    def stale_report(self, filled: Decimal) -> None:
        """A report from before what is known (less filled) never moves the order."""
        if filled < self.filled:
            assert self._apply(S.PARTIALLY_FILLED, filled) == []

    @precondition(lambda self: self.last_report is not None)
    @rule()
    def duplicate(self) -> None:
        assert self.last_report is not None
        status, filled = self.last_report
        assert self._apply(status, filled) == []

    @invariant()
    def consistent(self) -> None:
        assert Decimal(0) <= self.filled <= QTY
        if self.status is S.FILLED:
            assert self.filled == QTY
        if self.status is S.PARTIALLY_FILLED:
            assert Decimal(0) < self.filled < QTY
        if self.status in (S.NEW, S.SUBMITTED, S.SUBMITTED_UNKNOWN, S.ACCEPTED):
            assert self.filled == 0

    @invariant()
    def terminal_is_last(self) -> None:
        statuses = [s.status for s in self.history]
        for i, status in enumerate(statuses):
            if status in TERMINAL_STATUSES:
                assert i == len(statuses) - 1


TestOrderLifecycle = OrderLifecycle.TestCase
TestOrderLifecycle.settings = settings(max_examples=300, stateful_step_count=30,
                                       deadline=None)
