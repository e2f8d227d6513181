"""The optimizations table and its repository; every method runs in the caller's session.

A row holds the request, the state, live progress and the (small) result: best trials,
the top-k and the walk-forward report. Per-trial history is not kept here: a 100,000-trial
search must not become 100,000 rows; Optuna's own storage keeps it when one is configured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Text, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["OptimizationRow", "OptimizationStore"]


class _Base(DeclarativeBase):
    pass


class OptimizationRow(_Base):
    __tablename__ = "optimizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued running completed failed
    strategy: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    trials_done: Mapped[int] = mapped_column(Integer, default=0)
    trials_total: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    elapsed_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_ns: Mapped[int] = mapped_column(BigInteger, index=True)
    finished_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class OptimizationStore:
    async def get(self, s: AsyncSession, optimization_id: str) -> OptimizationRow | None:
        return await s.get(OptimizationRow, optimization_id)

    async def recent(self, s: AsyncSession, limit: int,
                     created_by: str | None = None) -> Sequence[OptimizationRow]:
        q = select(OptimizationRow).order_by(OptimizationRow.created_ns.desc()).limit(limit)
        if created_by is not None:
            q = q.where(OptimizationRow.created_by == created_by)
        return (await s.scalars(q)).all()

    def add(self, s: AsyncSession, row: OptimizationRow) -> None:
        s.add(row)

    async def abandon_unfinished(self, s: AsyncSession, now_ns: int) -> int:
        """Searches running when the service stopped cannot resume in a new process."""
        result = await s.execute(
            update(OptimizationRow)
            .where(OptimizationRow.status.in_(("queued", "running")))
            .values(status="failed", error="the service stopped before the search finished",
                    finished_ns=now_ns))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
