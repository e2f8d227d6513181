"""Repository over the market-data service's relational tables; every method runs in the
caller's session (service.py and the background workers own the transactions)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.services.market_data.models import (
    BackfillJobRow,
    GapRow,
    InstrumentRow,
    MismatchRow,
    SubscriptionRow,
)

__all__ = ["MarketStore"]

_INSTRUMENT_FIELDS = ("venue", "market", "symbol", "base", "quote", "kind", "status",
                      "tick_size", "lot_size", "min_qty", "min_notional", "max_qty", "source",
                      "updated_ns")


class MarketStore:
    # -- instruments -----------------------------------------------------------------
    async def upsert_instruments(self, s: AsyncSession, rows: Iterable[InstrumentRow]) -> int:
        incoming = {r.instrument_id: r for r in rows}
        if not incoming:
            return 0
        existing = {
            r.instrument_id: r for r in (await s.scalars(
                select(InstrumentRow).where(InstrumentRow.instrument_id.in_(list(incoming)))
            )).all()
        }
        for iid, row in incoming.items():
            old = existing.get(iid)
            if old is None:
                s.add(row)
            elif not (old.source == "exchangeInfo" and row.source == "backfill"):
                for name in _INSTRUMENT_FIELDS:
                    setattr(old, name, getattr(row, name))
        return len(incoming)

    async def instrument(self, s: AsyncSession, instrument_id: str) -> InstrumentRow | None:
        return await s.get(InstrumentRow, instrument_id)

    async def instruments(
        self, s: AsyncSession, *, venue: str | None, kind: str | None, search: str | None,
        ids: Sequence[str] | None, after: str | None, limit: int,
    ) -> Sequence[InstrumentRow]:
        q = select(InstrumentRow).order_by(InstrumentRow.instrument_id).limit(limit)
        if venue:
            q = q.where(InstrumentRow.venue == venue)
        if kind:
            q = q.where(InstrumentRow.kind == kind)
        if search:
            like = f"%{search.upper()}%"
            q = q.where(or_(InstrumentRow.instrument_id.like(like),
                            InstrumentRow.symbol.like(like)))
        if ids is not None:
            q = q.where(InstrumentRow.instrument_id.in_(list(ids)))
        if after:
            q = q.where(InstrumentRow.instrument_id > after)
        return (await s.scalars(q)).all()

    # -- subscriptions ---------------------------------------------------------------
    async def subscriptions(self, s: AsyncSession) -> Sequence[SubscriptionRow]:
        q = select(SubscriptionRow).order_by(SubscriptionRow.instrument_id)
        return (await s.scalars(q)).all()

    async def set_subscription(self, s: AsyncSession, instrument_id: str, *, source: str,
                               active: bool, by: str, now: int) -> SubscriptionRow:
        row = await s.get(SubscriptionRow, instrument_id)
        if row is None:
            row = SubscriptionRow(instrument_id=instrument_id, source=source, active=active,
                                  changed_by=by, changed_ns=now)
            s.add(row)
        else:
            row.source, row.active, row.changed_by, row.changed_ns = source, active, by, now
        return row

    async def sync_config(self, s: AsyncSession, ids: Sequence[str], *, by: str,
                          now: int) -> None:
        """The `instruments` document is the operator's list: what it names is recorded
        (again, even if an admin had removed it), what it no longer names and was not added
        through the API stops."""
        wanted = set(ids)
        rows = {r.instrument_id: r for r in await self.subscriptions(s)}
        for iid in wanted:
            row = rows.get(iid)
            if row is None or not row.active or row.source != "config":
                await self.set_subscription(s, iid, source="config", active=True, by=by,
                                            now=now)
        for iid, row in rows.items():
            if iid not in wanted and row.source == "config" and row.active:
                row.active, row.changed_by, row.changed_ns = False, by, now

    # -- gaps ------------------------------------------------------------------------
    def add(self, s: AsyncSession, *rows: object) -> None:
        s.add_all(rows)

    async def gap(self, s: AsyncSession, gap_id: int) -> GapRow | None:
        return await s.get(GapRow, gap_id)

    async def gaps(self, s: AsyncSession, *, instrument_id: str | None, start: int | None,
                   end: int | None, status: str | None, limit: int) -> Sequence[GapRow]:
        q = select(GapRow).order_by(GapRow.started_ns.desc(), GapRow.id.desc()).limit(limit)
        if instrument_id:
            q = q.where(GapRow.instrument_id == instrument_id)
        if status:
            q = q.where(GapRow.status == status)
        if end is not None:
            q = q.where(GapRow.started_ns < end)
        if start is not None:
            q = q.where(or_(GapRow.ended_ns.is_(None), GapRow.ended_ns >= start))
        return (await s.scalars(q)).all()

    # -- backfill jobs ---------------------------------------------------------------
    async def job(self, s: AsyncSession, job_id: str) -> BackfillJobRow | None:
        return await s.get(BackfillJobRow, job_id)

    async def jobs(self, s: AsyncSession, limit: int) -> Sequence[BackfillJobRow]:
        q = select(BackfillJobRow).order_by(BackfillJobRow.created_ns.desc()).limit(limit)
        return (await s.scalars(q)).all()

    # -- kline reconciliation --------------------------------------------------------
    async def replace_mismatches(self, s: AsyncSession, instrument_id: str, interval: str,
                                 start: int, end: int, rows: Sequence[MismatchRow]) -> None:
        await s.execute(delete(MismatchRow).where(
            MismatchRow.instrument_id == instrument_id, MismatchRow.interval == interval,
            MismatchRow.ts_open_ns >= start, MismatchRow.ts_open_ns < end))
        s.add_all(rows)

    async def mismatches(self, s: AsyncSession, instrument_id: str, start: int, end: int,
                         limit: int = 1000) -> Sequence[MismatchRow]:
        q = (select(MismatchRow)
             .where(MismatchRow.instrument_id == instrument_id,
                    MismatchRow.ts_open_ns >= start, MismatchRow.ts_open_ns < end)
             .order_by(MismatchRow.ts_open_ns).limit(limit))
        return (await s.scalars(q)).all()

    async def mismatch_count(self, s: AsyncSession, instrument_id: str, start: int,
                             end: int) -> int:
        q = select(func.count()).select_from(MismatchRow).where(
            MismatchRow.instrument_id == instrument_id, MismatchRow.ts_open_ns >= start,
            MismatchRow.ts_open_ns < end)
        return int((await s.execute(q)).scalar_one())
