"""Tables owned by the risk service.

`rule_versions` is append-only: every change to the rules or the kill switches is a new
row, so the version the trading engine holds always names one exact state (also mirrored to
the config service for history and rollback there). Positions, balances and account risk
rows are the real-time view, flushed from memory so a restart resumes where it stopped;
`returns` feeds historical VaR; `stops` are the server-side protective orders.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AccountOwnerRow",
    "AccountRow",
    "AlertRow",
    "BalanceRow",
    "Base",
    "PositionRow",
    "ReportRow",
    "ReturnRow",
    "RuleVersionRow",
    "StopRow",
]

_ID = BigInteger().with_variant(Integer(), "sqlite")
_S = String(64)
_DEC = String(60)  # decimals are stored as canonical strings: exact on every database


class Base(DeclarativeBase):
    pass


class RuleVersionRow(Base):
    __tablename__ = "rule_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"rules": [...], "kill_switches"}
    reason: Mapped[str] = mapped_column(String(20))  # rules | kill_switch | config
    author: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    config_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_org_at", "org_id", "at_ns"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    severity: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(10))  # account, user, org, global
    key: Mapped[str | None] = mapped_column(_S, nullable=True)
    org_id: Mapped[str] = mapped_column(_S)  # "*" for global alerts
    user_id: Mapped[str | None] = mapped_column(_S, nullable=True)
    account_id: Mapped[str | None] = mapped_column(_S, nullable=True)
    actor: Mapped[str] = mapped_column(String(120))
    dedupe: Mapped[str | None] = mapped_column(String(160), nullable=True, unique=True)
    at_ns: Mapped[int] = mapped_column(BigInteger)


class AccountRow(Base):
    """Per account: who owns it and the equity marks drawdown and daily loss start from."""

    __tablename__ = "accounts"

    account_id: Mapped[str] = mapped_column(_S, primary_key=True)
    org_id: Mapped[str] = mapped_column(_S, index=True)
    user_id: Mapped[str] = mapped_column(_S, index=True)
    peak_equity: Mapped[str] = mapped_column(_DEC)
    day: Mapped[int] = mapped_column(Integer)  # days since the epoch (UTC)
    day_start_equity: Mapped[str] = mapped_column(_DEC)
    last_return_equity: Mapped[str] = mapped_column(_DEC)
    last_return_ns: Mapped[int] = mapped_column(BigInteger)
    breached: Mapped[str | None] = mapped_column(String(40), nullable=True)  # kind@day
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class AccountOwnerRow(Base):
    """Who owns an account, from `users.account.created`: kept apart from `accounts`
    (whose equity marks start with the first balance), so an account that never traded is
    still known after a restart and another organisation naming it is refused."""

    __tablename__ = "account_owners"

    account_id: Mapped[str] = mapped_column(_S, primary_key=True)
    org_id: Mapped[str] = mapped_column(_S, index=True)
    user_id: Mapped[str] = mapped_column(_S)
    created_ns: Mapped[int] = mapped_column(BigInteger)


class PositionRow(Base):
    __tablename__ = "positions"

    account_id: Mapped[str] = mapped_column(_S, primary_key=True)
    instrument: Mapped[str] = mapped_column(String(80), primary_key=True)
    quantity: Mapped[str] = mapped_column(_DEC)
    average_entry: Mapped[str | None] = mapped_column(_DEC, nullable=True)
    realized_pnl: Mapped[str] = mapped_column(_DEC)
    unrealized_pnl: Mapped[str] = mapped_column(_DEC)
    mark_price: Mapped[str | None] = mapped_column(_DEC, nullable=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)


class BalanceRow(Base):
    __tablename__ = "balances"

    account_id: Mapped[str] = mapped_column(_S, primary_key=True)
    asset: Mapped[str] = mapped_column(String(20), primary_key=True)
    total: Mapped[str] = mapped_column(_DEC)
    at_ms: Mapped[int] = mapped_column(BigInteger)


class ReturnRow(Base):
    __tablename__ = "returns"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(_S, index=True)
    at_ns: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[str] = mapped_column(_DEC)  # simple return over one interval


class StopRow(Base):
    __tablename__ = "stops"
    __table_args__ = (Index("ix_stops_active", "status", "instrument"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(_S)
    user_id: Mapped[str] = mapped_column(_S, index=True)
    account_id: Mapped[str] = mapped_column(_S)
    instrument: Mapped[str] = mapped_column(String(80))
    stop_loss: Mapped[str | None] = mapped_column(_DEC, nullable=True)
    take_profit: Mapped[str | None] = mapped_column(_DEC, nullable=True)
    trailing_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trail_anchor: Mapped[str | None] = mapped_column(_DEC, nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # active, triggered, cancelled
    trigger: Mapped[str | None] = mapped_column(String(20), nullable=True)
    order_ref: Mapped[str | None] = mapped_column(String(80), nullable=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)  # the close order was sent
    created_ns: Mapped[int] = mapped_column(BigInteger)
    triggered_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ReportRow(Base):
    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_org_at", "org_id", "created_ns"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_id: Mapped[str] = mapped_column(_S)
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(_S)
    kind: Mapped[str] = mapped_column(String(10))  # daily | on_demand
    day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    html_key: Mapped[str] = mapped_column(String(300))
    pdf_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
