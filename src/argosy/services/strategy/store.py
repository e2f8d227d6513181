"""Repository over the strategy service's tables; every method runs in the caller's session."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.services.strategy.models import BacktestRow

__all__ = ["StrategyStore"]


class StrategyStore:
    async def backtest(self, s: AsyncSession, backtest_id: str) -> BacktestRow | None:
        return await s.get(BacktestRow, backtest_id)

    async def backtests(self, s: AsyncSession, limit: int,
                        created_by: str | None = None) -> Sequence[BacktestRow]:
        q = select(BacktestRow).order_by(BacktestRow.created_ns.desc()).limit(limit)
        if created_by is not None:
            q = q.where(BacktestRow.created_by == created_by)
        return (await s.scalars(q)).all()

    def add(self, s: AsyncSession, row: BacktestRow) -> None:
        s.add(row)

    async def abandon_unfinished(self, s: AsyncSession, before_ns: int, now_ns: int) -> int:
        """Runs created before `before_ns` (by an earlier process) and still queued or
        running cannot resume: they end failed."""
        result = await s.execute(
            update(BacktestRow).where(BacktestRow.status.in_(("queued", "running")),
                                      BacktestRow.created_ns < before_ns)
            .values(status="failed", error="the service stopped before the run finished",
                    finished_ns=now_ns))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
