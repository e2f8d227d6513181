"""Reads: orders, fills, positions (marked to market) and balances (with what open
orders hold). Only the caller's own accounts, inside their organisation."""

from __future__ import annotations

from decimal import Decimal

from argosy.contracts.v1.trading import BalanceOut, FillOut, OrderOut, PositionOut
from argosy.kernel.errors import Invalid, NotFound
from argosy.kernel.orders import OrderStatus
from argosy.services.trading.domain.ledger import unrealized
from argosy.services.trading.events import dstr
from argosy.services.trading.models import AccountRow
from argosy.services.trading.service._accounts import caller_accounts, locked_by, owned_account
from argosy.services.trading.service._context import Caller, Deps
from argosy.services.trading.service._views import fill_out, order_out
from argosy.services.trading.service.ledger import position_state
from argosy.services.trading.service.margin import account_margins

__all__ = ["QueriesService"]

_STATUSES = {s.value for s in OrderStatus} | {"open"}


def _opt(value: Decimal | None) -> str | None:
    return dstr(value) if value is not None else None


_OPEN = ["new", "submitted", "submitted_unknown", "accepted", "partially_filled"]


class QueriesService:
    def __init__(self, d: Deps) -> None:
        self.d = d

    async def _accounts(self, c: Caller, account_id: str | None) -> list[AccountRow]:
        async with self.d.db.read() as s:
            if account_id is not None:
                return [await owned_account(self.d, s, c, account_id)]
            return await caller_accounts(self.d, s, c)

    async def orders(self, c: Caller, status: str | None, account_id: str | None,
                     limit: int) -> list[OrderOut]:
        c.require("orders:read")
        wanted = [x.strip() for x in status.split(",")] if status else None
        for w in wanted or []:
            if w not in _STATUSES:
                raise Invalid(f"unknown status {w!r}", field="status")
        if wanted and "open" in wanted:
            wanted = [w for w in wanted if w != "open"] + _OPEN
        ids = [a.id for a in await self._accounts(c, account_id)]
        async with self.d.db.read() as s:
            rows = await self.d.store.orders(s, ids, c.org, wanted, limit)
        return [order_out(r) for r in rows]

    async def order(self, c: Caller, order_id: str) -> OrderOut:
        c.require("orders:read")
        async with self.d.db.read() as s:
            row = await self.d.store.order(s, order_id)
            if row is None or row.org_id != c.org or row.user_id != c.user_id:
                raise NotFound("no such order of yours", field="order_id")
            return order_out(row, await self.d.store.transitions(s, order_id))

    async def fills(self, c: Caller, account_id: str | None, order_id: str | None,
                    limit: int) -> list[FillOut]:
        c.require("orders:read")
        ids = [a.id for a in await self._accounts(c, account_id)]
        async with self.d.db.read() as s:
            rows = await self.d.store.fills(s, ids, c.org, order_id, limit)
        return [fill_out(r) for r in rows]

    async def positions(self, c: Caller, account_id: str | None) -> list[PositionOut]:
        c.require("orders:read")  # as the gateway's route table says
        ids = [a.id for a in await self._accounts(c, account_id)]
        async with self.d.db.read() as s:
            rows = await self.d.store.positions(s, ids, c.org)
            per_account = {a: await account_margins(self.d, s, a, c.org)
                           for a in {r.account_id for r in rows}}
        out = []
        for r in rows:
            mark = self.d.marks.mark(r.instrument)
            state = position_state(r)
            m = per_account.get(r.account_id, {}).get(r.instrument)
            out.append(PositionOut(
                account_id=r.account_id, instrument=r.instrument, quantity=r.quantity,
                average_entry=r.average_entry, realized_pnl=r.realized_pnl,
                unrealized_pnl=dstr(unrealized(state, mark)), fees_paid=r.fees_paid,
                mark_price=dstr(mark) if mark is not None else None,
                leverage=m.leverage if m else None,
                initial_margin=_opt(m.initial) if m else None,
                maintenance_margin=_opt(m.maintenance) if m else None,
                liquidation_price=_opt(m.liquidation) if m else None))
        return out

    async def balances(self, c: Caller, account_id: str | None) -> list[BalanceOut]:
        c.require("accounts:read")
        accounts = await self._accounts(c, account_id)
        d, out = self.d, []
        async with d.db.read() as s:
            rows = await d.store.balances(s, [a.id for a in accounts], c.org)
            held: dict[str, dict[str, Decimal]] = {}
            for a in accounts:
                opens = await d.store.open_orders(s, a.id)
                instruments = {o.instrument: d.instruments.cached(o.instrument) for o in opens}
                held[a.id] = locked_by(opens, {k: v for k, v in instruments.items() if v},
                                       {o.instrument: d.marks.mark(o.instrument)
                                        for o in opens}, d.settings.perp_leverage)
        for r in rows:
            locked = held.get(r.account_id, {}).get(r.asset, Decimal(0))
            total = Decimal(r.total)
            out.append(BalanceOut(account_id=r.account_id, asset=r.asset, total=r.total,
                                  locked=dstr(locked), available=dstr(total - locked)))
        return out
