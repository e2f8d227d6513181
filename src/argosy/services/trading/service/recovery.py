"""Reconciliation with each venue: at start-up, after a crash, and for unknown outcomes.

Order of work per account: orders (query every open order; a fresh paper venue is first
re-seeded from the database, since it forgot everything with the old process), then fills
(`fills_since` the last booked one; booking is idempotent), then balances (the venue's
totals win; a difference is booked as a `venue` journal entry) and positions (compared and
reported). Until an account's reconciliation succeeds, its new orders are refused
(fail-closed) while cancels go through. A second run finds nothing to change, so it
writes no event.

"Not found" right after a send is not proof: venues report fresh orders missing for tens
of seconds. An order is declared gone only after `not_found_misses` misses spanning at
least `not_found_window_s`; until then it is `submitted_unknown`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

import structlog
from sqlalchemy import select

from argosy.kernel.errors import ArgosyError, Unavailable
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.orders import OrderStatus
from argosy.services.trading.models import AccountRow, OrderRow
from argosy.services.trading.service._context import Deps
from argosy.services.trading.service.execution import Executions, transition
from argosy.services.trading.service.ledger import adjust_balance, book_fill
from argosy.services.trading.service.sending import Sender, request_of
from argosy.services.trading.venues import VenueHandle

__all__ = ["Reconciler", "Summary"]

log = structlog.get_logger("argosy.trading.recovery")
S = OrderStatus
_DONE = frozenset(s.value for s in (S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED))


@dataclass
class Summary:
    account_id: str
    queried: int = 0
    changed: int = 0
    missing: int = 0
    resent: int = 0
    fills_booked: int = 0
    balance_adjustments: int = 0
    unknown_at_venue: list[str] = field(default_factory=list)
    position_mismatches: list[str] = field(default_factory=list)


class Reconciler:
    def __init__(self, d: Deps, sender: Sender, executions: Executions,
                 books: Callable[[str], Awaitable[bool]] | None = None) -> None:
        self.d, self.sender, self.executions = d, sender, executions
        self._books = books
        self._ready: set[str] = set()
        self._seeded: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.errors: dict[str, str] = {}

    def is_ready(self, account_id: str) -> bool:
        return account_id in self._ready

    async def ensure_ready(self, account: AccountRow) -> None:
        """Fail-closed: reconcile now if it never succeeded; refuse when it fails."""
        if account.id in self._ready:
            return
        try:
            await self.reconcile(account)
        except Exception as exc:
            message = exc.message if isinstance(exc, ArgosyError) else type(exc).__name__
            raise Unavailable(
                f"reconciliation with the venue has not succeeded ({message}); new orders "
                "are refused until it does, cancels are allowed", dependency="venue",
                code="not_reconciled") from exc

    async def reconcile(self, account: AccountRow) -> Summary:
        async with self._locks[account.id]:
            summary = Summary(account.id)
            try:
                handle = await self.sender.venue(account)
                if handle.ephemeral and account.id not in self._seeded:
                    await self._reseed(account, handle, summary)
                    self._seeded.add(account.id)
                await self._orders(account, handle, summary)
                await self._fills(account, handle, summary)
                await self._balances(account, handle, summary)
            except Exception as exc:
                self.errors[account.id] = f"{type(exc).__name__}: {exc}"
                log.warning("reconcile.failed", account=account.id, error=str(exc))
                raise
            self.errors.pop(account.id, None)
            self._ready.add(account.id)
            log.info("reconcile.done", **summary.__dict__)
            return summary

    async def _open(self, account: AccountRow) -> list[OrderRow]:
        async with self.d.db.read() as s:
            return await self.d.store.open_orders(s, account.id)

    async def _reseed(self, account: AccountRow, handle: VenueHandle, summary: Summary) -> None:
        """A fresh in-memory venue: give it back every order that was live (or may have
        been) with what is left of it; orders never sent are sent now. Without a book the
        paper venue would expire them, so a missing book fails the reconciliation (retried)
        instead."""
        rows = await self._open(account)
        for key in sorted({r.instrument for r in rows}):
            if self._books is not None and not await self._books(key):
                raise Unavailable(f"no order book for {key} to restore the paper orders on",
                                  dependency="market-data")
        for row in rows:
            if row.status == S.NEW:
                await self.sender.send(account, row.id)
                summary.resent += 1
                continue
            filled = Decimal(row.filled_quantity)
            remaining = Decimal(row.quantity) - filled
            if filled:
                self.executions.offsets[row.id] = filled
            await self.sender.submit(account, handle, request_of(row, remaining))
            summary.resent += 1

    async def _orders(self, account: AccountRow, handle: VenueHandle, summary: Summary) -> None:
        for row in await self._open(account):
            if row.status == S.NEW:  # never left: send it now
                await self.sender.send(account, row.id)
                summary.resent += 1
                continue
            report = await handle.venue.query(InstrumentId.parse(row.instrument), row.id)
            summary.queried += 1
            if report is None:
                summary.missing += 1
                await self._missed(row.id)
            elif await self.executions.apply(account.id, report, "reconcile"):
                summary.changed += 1
        known = {r.id for r in await self._open(account)}
        for report in await handle.venue.open_orders():
            if report.client_order_id not in known:
                async with self.d.db.read() as s:
                    found = await self.d.store.order(s, report.client_order_id)
                if found is None:
                    summary.unknown_at_venue.append(report.client_order_id)
                elif found.status in _DONE:
                    # declared gone (or cancelled) here but live there: it must not trade
                    log.error("reconcile.live_at_venue_but_closed_here", order=found.id,
                              status=found.status)
                    await handle.venue.cancel(InstrumentId.parse(found.instrument), found.id)
                    summary.changed += 1
                elif await self.executions.apply(account.id, report, "reconcile"):
                    summary.changed += 1

    async def _missed(self, order_id: str) -> None:
        d = self.d
        now = d.now()
        async with d.db.transaction() as s:
            row = await self.executions.locked_order(s, order_id)
            if row is None or row.status == S.NEW or row.status in _DONE:
                return
            row.misses = (row.misses or 0) + 1
            row.first_miss_ns = row.first_miss_ns or now
            window_ns = int(d.settings.not_found_window_s * 1e9)
            gone = row.misses >= d.settings.not_found_misses \
                and now - row.first_miss_ns >= window_ns
            if gone:
                reason = (f"not found at the venue after {row.misses} queries over "
                          f"{(now - row.first_miss_ns) / 1e9:.0f} s")
                final = S.REJECTED if row.status in (S.SUBMITTED, S.SUBMITTED_UNKNOWN) \
                    else S.CANCELLED
                await transition(d, s, row, final, "reconcile", reason)
            elif row.status == S.SUBMITTED:
                await transition(d, s, row, S.SUBMITTED_UNKNOWN, "reconcile",
                                 "not found at the venue yet")

    async def _fills(self, account: AccountRow, handle: VenueHandle, summary: Summary) -> None:
        d = self.d
        async with d.db.read() as s:
            instruments = list(await s.scalars(select(OrderRow.instrument).distinct().where(
                OrderRow.account_id == account.id)))
        for key in instruments:
            async with d.db.read() as s:
                since = await d.store.last_fill_ns(s, account.id, key)
            fills = await handle.venue.fills_since(InstrumentId.parse(key), since)
            if not fills:
                continue
            instrument = await d.instruments.get(key)
            async with d.db.transaction() as s:
                for fill in fills:
                    order = await d.store.order(s, fill.client_order_id)
                    if order is None or order.account_id != account.id:
                        continue
                    if await book_fill(d, s, account, order, instrument, fill):
                        summary.fills_booked += 1

    async def _balances(self, account: AccountRow, handle: VenueHandle,
                        summary: Summary) -> None:
        d = self.d
        venue_balances = await handle.venue.balances()
        now = d.now()
        async with d.db.transaction() as s:
            ours = {b.asset: Decimal(b.total)
                    for b in await d.store.balances(s, [account.id], account.org_id)}
            for asset, qty in venue_balances.items():
                delta = qty.value - ours.get(asset, Decimal(0))
                if delta != 0:
                    log.warning("reconcile.balance_differs", account=account.id, asset=asset,
                                ours=str(ours.get(asset)), venue=qty.to_str())
                    await adjust_balance(d, s, account, asset, delta, "venue",
                                         f"reconcile:{now}:{asset}", now)
                    summary.balance_adjustments += 1
        for position in await handle.venue.positions():
            key = str(position.instrument_id)
            async with d.db.read() as s:
                row = await d.store.position(s, account.id, key)
            ours_qty = Decimal(row.quantity) if row else Decimal(0)
            theirs = position.quantity.value if position.side.value == "buy" \
                else -position.quantity.value
            if ours_qty != theirs:
                summary.position_mismatches.append(key)
                log.error("reconcile.position_differs", account=account.id, instrument=key,
                          ours=str(ours_qty), venue=str(theirs))

    async def startup(self) -> None:
        """Reconcile every account that has orders; retry the failures until they pass."""
        async with self.d.db.read() as s:
            ids = set(await s.scalars(select(OrderRow.account_id).distinct()))
            accounts = [a for a in await self.d.store.all_accounts(s) if a.id in ids]
        pending = {a.id: a for a in accounts}
        while pending:
            for account in list(pending.values()):
                try:
                    await self.reconcile(account)
                    del pending[account.id]
                except Exception:  # noqa: S112  (logged in reconcile; retried below)
                    continue
            if pending:
                await asyncio.sleep(self.d.settings.reconcile_interval_s)

    async def resolve_unknown(self) -> None:
        """Query orders whose outcome is unknown, forever (the background resolver)."""
        d = self.d
        while True:
            await asyncio.sleep(d.settings.reconcile_interval_s)
            async with d.db.read() as s:
                rows = list(await s.scalars(select(OrderRow).where(
                    OrderRow.status.in_((S.SUBMITTED_UNKNOWN.value,)))))
                accounts = {a.id: a for a in await d.store.all_accounts(s)}
            for row in rows:
                account = accounts.get(row.account_id)
                handle = d.venues.known(row.account_id)
                if account is None or handle is None:
                    continue
                try:
                    report = await handle.venue.query(InstrumentId.parse(row.instrument),
                                                      row.id)
                except Exception as exc:  # still unknown; next round
                    log.info("resolve.query_failed", order=row.id, error=str(exc))
                    continue
                if report is None:
                    await self._missed(row.id)
                else:
                    await self.executions.apply(account.id, report, "reconcile")
