"""Deployment tables and their repository; every method runs in the caller's session.

A deployment row holds what to run and its state; its orders and fills are rows of their
own (a few per bar at most, unlike a backtest's tens of thousands), so GET shows them and a
restarted service rebuilds the strategy's positions from its fills.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["DeploymentFillRow", "DeploymentOrderRow", "DeploymentRow", "DeploymentStore"]


class _Base(DeclarativeBase):
    pass


class DeploymentRow(_Base):
    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # running paused stopped failed
    strategy: Mapped[str] = mapped_column(String(128))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    instruments: Mapped[list[str]] = mapped_column(JSON)
    feed: Mapped[str] = mapped_column(String(8))
    interval: Mapped[str] = mapped_column(String(8))
    account_id: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    org: Mapped[str | None] = mapped_column(String(64), nullable=True)
    incarnation: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    stopped_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DeploymentOrderRow(_Base):
    __tablename__ = "deployment_orders"

    deployment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    instrument: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    filled_quantity: Mapped[str] = mapped_column(String(64))
    average_price: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class DeploymentFillRow(_Base):
    __tablename__ = "deployment_fills"

    deployment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    fill_key: Mapped[str] = mapped_column(String(160), primary_key=True)  # instrument:fill id
    client_order_id: Mapped[str] = mapped_column(String(36))
    order_id: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[str] = mapped_column(String(64))
    fee: Mapped[str] = mapped_column(String(64))
    fee_asset: Mapped[str] = mapped_column(String(16))
    liquidity: Mapped[str] = mapped_column(String(8))
    ts_ns: Mapped[int] = mapped_column(BigInteger)


class DeploymentStore:
    async def get(self, s: AsyncSession, deployment_id: str) -> DeploymentRow | None:
        return await s.get(DeploymentRow, deployment_id)

    async def of_user(self, s: AsyncSession, user_id: str, limit: int
                      ) -> Sequence[DeploymentRow]:
        q = (select(DeploymentRow).where(DeploymentRow.user_id == user_id)
             .order_by(DeploymentRow.created_ns.desc()).limit(limit))
        return (await s.scalars(q)).all()

    async def live(self, s: AsyncSession) -> Sequence[DeploymentRow]:
        q = select(DeploymentRow).where(DeploymentRow.status.in_(("running", "paused")))
        return (await s.scalars(q.order_by(DeploymentRow.created_ns))).all()

    def add(self, s: AsyncSession, row: Any) -> None:
        s.add(row)

    async def order(self, s: AsyncSession, deployment_id: str, client_order_id: str
                    ) -> DeploymentOrderRow | None:
        return await s.get(DeploymentOrderRow, (deployment_id, client_order_id))

    async def has_fill(self, s: AsyncSession, deployment_id: str, fill_key: str) -> bool:
        return await s.get(DeploymentFillRow, (deployment_id, fill_key)) is not None

    async def orders(self, s: AsyncSession, deployment_id: str) -> Sequence[DeploymentOrderRow]:
        q = (select(DeploymentOrderRow).where(DeploymentOrderRow.deployment_id == deployment_id)
             .order_by(DeploymentOrderRow.updated_ns))
        return (await s.scalars(q)).all()

    async def fills(self, s: AsyncSession, deployment_id: str) -> Sequence[DeploymentFillRow]:
        q = (select(DeploymentFillRow).where(DeploymentFillRow.deployment_id == deployment_id)
             .order_by(DeploymentFillRow.ts_ns, DeploymentFillRow.fill_key))
        return (await s.scalars(q)).all()
