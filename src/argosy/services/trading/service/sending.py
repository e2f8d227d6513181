"""Sending an order to its venue: durable first, then out, then the answer applied.

The order row is committed as `new` before anything else; `submitted` is committed right
before the venue call, so after a crash `new` proves the order never left and
`submitted` means it may have. The venue's answer decides the rest:
- an execution report → applied like any other (accepted, filled...);
- `VenueRejected` → rejected with the venue's reason;
- `VenueRetry` (nothing happened) → retried twice, then rejected as never sent;
- `VenueReconcile`, a timeout or anything unexpected → `submitted_unknown`, resolved by
  queries (recovery.py), never guessed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal

import structlog

from argosy.kernel.errors import VenueRejected, VenueRetry
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import Side
from argosy.kernel.money import Price, Quantity
from argosy.kernel.orders import OrderRequest, OrderStatus, OrderType, TimeInForce
from argosy.services.trading.events import dstr
from argosy.services.trading.models import AccountRow, OrderRow
from argosy.services.trading.service._context import Deps
from argosy.services.trading.service.execution import Executions, transition
from argosy.services.trading.service.margin import restore_leverage
from argosy.services.trading.venues import AccountInfo, VenueHandle

__all__ = ["Sender", "account_info", "crash_point", "request_of"]

log = structlog.get_logger("argosy.trading.send")
S = OrderStatus


def crash_point(d: Deps, point: str) -> None:
    """The crash tests' hook (ARGOSY_TRADING_CRASH_AT): kill -9 ourselves right here."""
    if d.settings.crash_at != point:
        return
    marker = d.settings.crash_marker_file
    if marker is not None:
        if marker.exists():
            return
        marker.write_text(point)
    log.warning("trading.crash_hook", point=point)
    os.kill(os.getpid(), signal.SIGKILL)


def account_info(row: AccountRow) -> AccountInfo:
    return AccountInfo(row.id, row.org_id, row.user_id, row.kind, row.venue, row.currency)


def request_of(row: OrderRow, remaining: Decimal | None = None) -> OrderRequest:
    qty = Decimal(row.quantity) if remaining is None else remaining
    return OrderRequest(
        client_order_id=row.id, instrument_id=InstrumentId.parse(row.instrument),
        side=Side(row.side), type=OrderType(row.type), quantity=Quantity(dstr(qty)),
        price=Price(row.price) if row.price else None,
        stop_price=Price(row.stop_price) if row.stop_price else None,
        trailing_bps=row.trailing_bps, time_in_force=TimeInForce(row.time_in_force),
        expire_at_ns=row.expire_at_ns, reduce_only=row.reduce_only)


class Sender:
    def __init__(self, d: Deps, executions: Executions) -> None:
        self.d, self.executions = d, executions

    async def venue(self, account: AccountRow) -> VenueHandle:
        found = self.d.venues.known(account.id)
        if found is not None:
            return found
        async with self.d.db.read() as s:
            rows = await self.d.store.balances(s, [account.id], account.org_id)
        balances = {b.asset: Decimal(b.total) for b in rows}
        if not self.d.instruments.all():  # a paper venue lists its instruments once
            await self.d.instruments.refresh()
        handle = await self.d.venues.open(account_info(account), self.d.instruments.all(),
                                          balances)
        await restore_leverage(self.d, account, handle)
        return handle

    async def send(self, account: AccountRow, order_id: str) -> None:
        """new → submitted → (venue) → whatever the venue says."""
        d = self.d
        async with d.db.transaction() as s:
            row = await self.executions.locked_order(s, order_id)
            if row is None or row.status != S.NEW:
                return
            await transition(d, s, row, S.SUBMITTED, "api")
            request = request_of(row)
        crash_point(d, "after_write")
        handle = await self.venue(account)
        await self.submit(account, handle, request)

    async def submit(self, account: AccountRow, handle: VenueHandle,
                     request: OrderRequest) -> None:
        d = self.d
        order_id = request.client_order_id
        for attempt in range(3):
            try:
                async with asyncio.timeout(d.settings.send_timeout_s):
                    report = await handle.venue.submit(request)
            except VenueRetry as exc:
                if attempt < 2:
                    await asyncio.sleep(0.2 * (attempt + 1))
                    continue
                await self._finish(order_id, S.REJECTED,
                                   f"venue unavailable, nothing was sent: {exc.message}")
                return
            except VenueRejected as exc:
                await self._finish(order_id, S.REJECTED, exc.message)
                return
            except Exception as exc:  # VenueReconcile, timeout, a broken connection...
                log.warning("trading.send_outcome_unknown", order=order_id,
                            error=f"{type(exc).__name__}: {exc}")
                await self._finish(order_id, S.SUBMITTED_UNKNOWN,
                                   f"outcome unknown: {type(exc).__name__}")
                return
            crash_point(d, "after_send")
            await self.executions.apply(account.id, report, "venue")
            return

    async def _finish(self, order_id: str, status: OrderStatus, reason: str) -> None:
        async with self.d.db.transaction() as s:
            row = await self.executions.locked_order(s, order_id)
            if row is None or row.status not in (S.SUBMITTED, S.SUBMITTED_UNKNOWN):
                return  # the stream already told us more
            if status is S.SUBMITTED_UNKNOWN and row.status == S.SUBMITTED_UNKNOWN:
                return
            await transition(self.d, s, row, status, "venue", reason)
