"""Applying what venues say about orders: the answer to a send or cancel, the stream, a
query during reconciliation. One function, so every path books fills and moves the state
machine the same way, and a report seen twice changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.errors import Conflict
from argosy.kernel.orders import ExecutionReport, OrderStatus
from argosy.services.trading.domain.lifecycle import advance, check_transition
from argosy.services.trading.events import dstr, order_event
from argosy.services.trading.models import AccountRow, OrderRow, TransitionRow
from argosy.services.trading.service._context import Deps
from argosy.services.trading.service.ledger import book_fill

__all__ = ["Executions", "transition"]

log = structlog.get_logger("argosy.trading.execution")


async def transition(d: Deps, s: AsyncSession, row: OrderRow, target: OrderStatus,
                     source: str, reason: str | None = None,
                     filled: Decimal | None = None) -> None:
    """Store one transition of the state machine, and its event."""
    check_transition(OrderStatus(row.status), target)
    now = d.now()
    s.add(TransitionRow(order_id=row.id, from_status=row.status, to_status=target.value,
                        filled_quantity=dstr(filled) if filled is not None
                        else row.filled_quantity, source=source, reason=reason, ts_ns=now))
    row.status = target.value
    if filled is not None:
        row.filled_quantity = dstr(filled)
    if reason is not None:
        row.reason = reason[:500]
    row.updated_ns = now
    await order_event(d.outbox, s, row, now)


@dataclass
class Executions:
    d: Deps
    # orders re-sent to a fresh paper venue after a restart: the venue counts their fills
    # from zero, so what was filled before is added back (order id -> filled before)
    offsets: dict[str, Decimal] = field(default_factory=dict)

    async def locked_order(self, s: AsyncSession, order_id: str) -> OrderRow | None:
        return await s.scalar(select(OrderRow).where(OrderRow.id == order_id)
                              .with_for_update())

    async def apply(self, account_id: str, report: ExecutionReport, source: str) -> bool:
        """Apply `report` in its own transaction; True when anything changed.

        Most reports repeat what is known (the stream echoes the send's answer), so a
        read decides first whether the write lock is needed at all."""
        if not await self._news(account_id, report):
            return False
        async with self.d.db.transaction() as s:
            return await self.apply_in(s, account_id, report, source)

    async def _news(self, account_id: str, report: ExecutionReport) -> bool:
        async with self.d.db.read() as s:
            row = await self.d.store.order(s, report.client_order_id)
            if row is None or row.account_id != account_id:
                return True  # let apply_in log it
            for fill in report.fills:
                if await self.d.store.fill(s, account_id, str(fill.instrument_id),
                                           fill.fill_id) is None:
                    return True
        if report.venue_order_id and row.venue_order_id != report.venue_order_id:
            return True
        offset = self.offsets.get(row.id, Decimal(0))
        try:
            return bool(advance(OrderStatus(row.status), Decimal(row.filled_quantity),
                                Decimal(row.quantity), report.status,
                                report.filled_quantity.value + offset))
        except Conflict:
            return True

    async def apply_in(self, s: AsyncSession, account_id: str, report: ExecutionReport,
                       source: str) -> bool:
        d = self.d
        row = await self.locked_order(s, report.client_order_id)
        if row is None or row.account_id != account_id:
            log.warning("execution.unknown_order", account=account_id,
                        client_order_id=report.client_order_id, status=report.status)
            return False
        account = await d.store.account(s, account_id)
        assert account is not None
        changed = False
        if report.fills:
            instrument = await d.instruments.get(row.instrument)
            for fill in report.fills:
                changed |= await book_fill(d, s, account, row, instrument, fill)
        offset = self.offsets.get(row.id, Decimal(0))
        reported_filled = report.filled_quantity.value + offset
        if report.venue_order_id and row.venue_order_id != report.venue_order_id:
            row.venue_order_id = report.venue_order_id
            changed = True
        try:
            steps = advance(OrderStatus(row.status), Decimal(row.filled_quantity),
                            Decimal(row.quantity), report.status, reported_filled)
        except Conflict as exc:
            log.error("execution.inconsistent_report", order=row.id, error=exc.message)
            return changed
        if steps and report.average_price is not None:
            row.average_price = self._average(row, report, offset)
        for step in steps:
            reason = report.reason if step.status in (
                OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED) else None
            await transition(d, s, row, step.status, source, reason, step.filled_quantity)
        if steps:
            row.misses, row.first_miss_ns = 0, None
        return changed or bool(steps)

    def _average(self, row: OrderRow, report: ExecutionReport, offset: Decimal) -> str:
        assert report.average_price is not None
        if offset == 0 or row.average_price is None:
            return report.average_price.to_str()
        new_qty = report.filled_quantity.value
        before = Decimal(row.average_price) * offset
        total = before + report.average_price.value * new_qty
        return dstr(total / (offset + new_qty)) if offset + new_qty else row.average_price

    async def account_of(self, s: AsyncSession, account_id: str) -> AccountRow | None:
        return await self.d.store.account(s, account_id)
