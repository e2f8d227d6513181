"""Repository over the trading tables. Every read an API answers with filters by the
organisation (and the caller's accounts), so another tenant's id reads as absent."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.services.trading.models import (
    AccountRow,
    BalanceEntryRow,
    BalanceRow,
    FillRow,
    OrderRow,
    PositionRow,
    TransitionRow,
)

__all__ = ["OPEN", "TradingStore"]

OPEN = ("new", "submitted", "submitted_unknown", "accepted", "partially_filled")


class TradingStore:
    # -- accounts ------------------------------------------------------------------------
    async def account(self, s: AsyncSession, account_id: str) -> AccountRow | None:
        return await s.get(AccountRow, account_id)

    async def user_accounts(self, s: AsyncSession, user_id: str, org: str) -> list[AccountRow]:
        rows = await s.scalars(select(AccountRow).where(
            AccountRow.user_id == user_id, AccountRow.org_id == org).order_by(AccountRow.id))
        return list(rows)

    async def all_accounts(self, s: AsyncSession) -> list[AccountRow]:
        return list(await s.scalars(select(AccountRow).order_by(AccountRow.id)))

    # -- orders --------------------------------------------------------------------------
    async def order(self, s: AsyncSession, order_id: str) -> OrderRow | None:
        return await s.get(OrderRow, order_id)

    async def order_by_client_id(self, s: AsyncSession, account_id: str,
                                 client_order_id: str) -> OrderRow | None:
        return await s.scalar(select(OrderRow).where(
            OrderRow.account_id == account_id, OrderRow.client_order_id == client_order_id))

    async def orders(self, s: AsyncSession, account_ids: Sequence[str], org: str,
                     status: Sequence[str] | None, limit: int) -> list[OrderRow]:
        q = select(OrderRow).where(OrderRow.account_id.in_(account_ids), OrderRow.org_id == org)
        if status:
            q = q.where(OrderRow.status.in_(status))
        return list(await s.scalars(q.order_by(OrderRow.id.desc()).limit(limit)))

    async def open_orders(self, s: AsyncSession, account_id: str,
                          instrument: str | None = None) -> list[OrderRow]:
        q = select(OrderRow).where(OrderRow.account_id == account_id,
                                   OrderRow.status.in_(OPEN))
        if instrument is not None:
            q = q.where(OrderRow.instrument == instrument)
        return list(await s.scalars(q.order_by(OrderRow.id)))

    async def transitions(self, s: AsyncSession, order_id: str) -> list[TransitionRow]:
        return list(await s.scalars(select(TransitionRow).where(
            TransitionRow.order_id == order_id).order_by(TransitionRow.id)))

    # -- fills ---------------------------------------------------------------------------
    async def fill(self, s: AsyncSession, account_id: str, instrument: str,
                   fill_id: str) -> FillRow | None:
        return await s.scalar(select(FillRow).where(
            FillRow.account_id == account_id, FillRow.instrument == instrument,
            FillRow.fill_id == fill_id))

    async def fills(self, s: AsyncSession, account_ids: Sequence[str], org: str,
                    order_id: str | None, limit: int) -> list[FillRow]:
        q = select(FillRow).where(FillRow.account_id.in_(account_ids), FillRow.org_id == org)
        if order_id is not None:
            q = q.where(FillRow.order_id == order_id)
        return list(await s.scalars(q.order_by(FillRow.id.desc()).limit(limit)))

    async def order_fills(self, s: AsyncSession, order_id: str) -> list[FillRow]:
        return list(await s.scalars(select(FillRow).where(FillRow.order_id == order_id)
                                    .order_by(FillRow.id)))

    async def last_fill_ns(self, s: AsyncSession, account_id: str, instrument: str) -> int:
        value = await s.scalar(select(func.max(FillRow.ts_ns)).where(
            FillRow.account_id == account_id, FillRow.instrument == instrument))
        return int(value or 0)

    # -- positions and balances ----------------------------------------------------------
    async def position(self, s: AsyncSession, account_id: str,
                       instrument: str) -> PositionRow | None:
        return await s.get(PositionRow, (account_id, instrument))

    async def positions(self, s: AsyncSession, account_ids: Sequence[str],
                        org: str) -> list[PositionRow]:
        return list(await s.scalars(select(PositionRow).where(
            PositionRow.account_id.in_(account_ids), PositionRow.org_id == org)
            .order_by(PositionRow.account_id, PositionRow.instrument)))

    async def balance(self, s: AsyncSession, account_id: str, asset: str) -> BalanceRow | None:
        return await s.get(BalanceRow, (account_id, asset))

    async def balances(self, s: AsyncSession, account_ids: Sequence[str],
                       org: str) -> list[BalanceRow]:
        return list(await s.scalars(select(BalanceRow).where(
            BalanceRow.account_id.in_(account_ids), BalanceRow.org_id == org)
            .order_by(BalanceRow.account_id, BalanceRow.asset)))

    async def entries(self, s: AsyncSession, account_id: str) -> list[BalanceEntryRow]:
        return list(await s.scalars(select(BalanceEntryRow).where(
            BalanceEntryRow.account_id == account_id).order_by(BalanceEntryRow.id)))
