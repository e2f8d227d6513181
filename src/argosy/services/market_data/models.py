"""Tables owned by the market-data service in its relational database (the time series
live in the tsdb, see tables.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["BackfillJobRow", "Base", "GapRow", "InstrumentRow", "MismatchRow",
           "SubscriptionRow"]

_ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class InstrumentRow(Base):
    __tablename__ = "instruments"

    instrument_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    venue: Mapped[str] = mapped_column(String(32))
    market: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(64))
    base: Mapped[str] = mapped_column(String(20))
    quote: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    tick_size: Mapped[str | None] = mapped_column(String(40), nullable=True)
    lot_size: Mapped[str | None] = mapped_column(String(40), nullable=True)
    min_qty: Mapped[str | None] = mapped_column(String(40), nullable=True)
    min_notional: Mapped[str | None] = mapped_column(String(40), nullable=True)
    max_qty: Mapped[str | None] = mapped_column(String(40), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # exchangeInfo | ccxt | backfill
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class SubscriptionRow(Base):
    """`source` config: from the `instruments` document; api: added by an admin."""

    __tablename__ = "subscriptions"

    instrument_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(255))
    changed_ns: Mapped[int] = mapped_column(BigInteger)


class GapRow(Base):
    __tablename__ = "gaps"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    instrument_id: Mapped[str] = mapped_column(String(80))
    stream: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_ns: Mapped[int] = mapped_column(BigInteger)
    ended_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    first_missing: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_missing: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    repaired: Mapped[int] = mapped_column(BigInteger, default=0)
    method: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    found_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "instrument": self.instrument_id, "stream": self.stream,
            "cause": self.cause, "status": self.status, "started_ns": self.started_ns,
            "ended_ns": self.ended_ns, "first_missing_id": self.first_missing,
            "last_missing_id": self.last_missing, "repaired": self.repaired,
            "method": self.method, "detail": self.detail, "found_ns": self.found_ns,
            "updated_ns": self.updated_ns,
        }


class BackfillJobRow(Base):
    __tablename__ = "backfill_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    instrument_id: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(16))  # rest | archive | repair
    kind: Mapped[str] = mapped_column(String(16))  # trades | aggTrades | klines
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    bars: Mapped[int] = mapped_column(BigInteger, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(255))
    created_ns: Mapped[int] = mapped_column(BigInteger)
    finished_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "instrument": self.instrument_id, "source": self.source,
            "kind": self.kind, "params": self.params, "status": self.status,
            "rows": self.rows, "bars": self.bars, "detail": self.detail,
            "created_by": self.created_by, "created_ns": self.created_ns,
            "finished_ns": self.finished_ns,
        }


class MismatchRow(Base):
    __tablename__ = "kline_mismatches"
    __table_args__ = (UniqueConstraint("instrument_id", "interval", "ts_open_ns", "field"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    instrument_id: Mapped[str] = mapped_column(String(80))
    interval: Mapped[str] = mapped_column(String(8))
    ts_open_ns: Mapped[int] = mapped_column(BigInteger)
    field: Mapped[str] = mapped_column(String(24))
    ours: Mapped[str] = mapped_column(String(64))
    theirs: Mapped[str] = mapped_column(String(64))
    found_ns: Mapped[int] = mapped_column(BigInteger)
