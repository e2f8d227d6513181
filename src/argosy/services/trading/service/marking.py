"""Mark-to-market: open positions re-valued at the latest marks, published as
`trading.position.<account>` events when the mark moved, so a client's unrealized PnL
follows the market between fills. One transaction per round; positions whose mark did not
move publish nothing (the round is a no-op on a quiet market)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import select

from argosy.services.trading.domain.ledger import unrealized
from argosy.services.trading.events import dstr, position_event
from argosy.services.trading.models import AccountRow, PositionRow
from argosy.services.trading.service._context import Deps
from argosy.services.trading.service.ledger import position_state
from argosy.services.trading.service.margin import Margin, account_margins

__all__ = ["Marking"]


class Marking:
    def __init__(self, d: Deps) -> None:
        self.d = d
        self._published: dict[tuple[str, str], Decimal] = {}

    async def round(self) -> int:
        """Publish the positions whose mark moved since their last event; returns how many."""
        d = self.d
        now = d.now()
        sent = 0
        async with d.db.read() as s:
            rows = list(await s.scalars(select(PositionRow).where(PositionRow.quantity != "0")))
        moved = [(r, m) for r in rows
                 if (m := d.marks.mark(r.instrument)) is not None
                 and self._published.get((r.account_id, r.instrument)) != m]
        if not moved:
            return 0
        async with d.db.transaction() as s:
            users = {a.id: a.user_id for a in await s.scalars(select(AccountRow).where(
                AccountRow.id.in_({r.account_id for r, _ in moved})))}
            margin: dict[str, dict[str, Margin]] = {}
            for row, mark in moved:
                if row.account_id not in margin:
                    margin[row.account_id] = await account_margins(d, s, row.account_id,
                                                                   row.org_id)
                mg = margin[row.account_id].get(row.instrument)
                await position_event(d.outbox, s, row, users.get(row.account_id, ""),
                                     f"mark:{now}", now, dstr(mark),
                                     dstr(unrealized(position_state(row), mark)),
                                     mg.leverage if mg else None,
                                     dstr(mg.liquidation) if mg and mg.liquidation else None)
                self._published[(row.account_id, row.instrument)] = mark
                sent += 1
        return sent

    async def run(self) -> None:
        every = self.d.settings.position_mark_interval_s
        if every <= 0:
            return
        while True:
            await asyncio.sleep(every)
            await self.round()
