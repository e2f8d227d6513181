"""Tables owned by the strategy service (backtests; big series live in the object store)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["BacktestRow", "Base"]


class Base(DeclarativeBase):
    pass


class BacktestRow(Base):
    """One backtest: the request, its state, and the headline numbers of its result.

    Fills, round trips and the equity curve are objects under `backtests/<id>/` (tens of
    thousands of rows per run do not belong in a table the API lists)."""

    __tablename__ = "backtests"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued running completed failed
    strategy: Mapped[str] = mapped_column(String(128))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    fills: Mapped[int] = mapped_column(Integer, default=0)
    trades: Mapped[int] = mapped_column(Integer, default=0)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    final_equity: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fills_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    elapsed_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_ns: Mapped[int] = mapped_column(BigInteger)
    finished_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
