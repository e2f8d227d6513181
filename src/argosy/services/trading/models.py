"""Tables owned by the trading service.

`orders` is the durable order book of record: a row is committed before the order leaves
for a venue, and `order_transitions` keeps every status change. `fills` is unique per
(account, instrument, venue fill id), so a fill seen twice (answer, stream, reconcile) is
stored once. `positions` and `balances` are running totals; `balance_entries` is their
journal (deposits, trades, fees, PnL), from which the tie-out is checked. Every row carries
`org_id`, and every API query filters by it and by the account's owner.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["AccountRow", "AlgoRow", "BalanceEntryRow", "BalanceRow", "Base", "FillRow", "OrderRow",
           "PositionRow", "TransitionRow"]

_ID = BigInteger().with_variant(Integer(), "sqlite")
_S = String(40)
_NUM = String(64)  # decimals as canonical strings: exact on every database


class Base(DeclarativeBase):
    pass


class AccountRow(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(_S, primary_key=True)
    org_id: Mapped[str] = mapped_column(_S, index=True)
    user_id: Mapped[str] = mapped_column(_S, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # paper | exchange
    venue: Mapped[str | None] = mapped_column(String(32), nullable=True)
    currency: Mapped[str] = mapped_column(String(20))
    starting_balance: Mapped[str | None] = mapped_column(_NUM, nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean)
    created_ns: Mapped[int] = mapped_column(BigInteger)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("account_id", "client_order_id", name="uq_orders_client_id"),
        Index("ix_orders_account_status", "account_id", "status"),
    )

    id: Mapped[str] = mapped_column(_S, primary_key=True)  # also the venue client order id
    account_id: Mapped[str] = mapped_column(_S)
    org_id: Mapped[str] = mapped_column(_S, index=True)
    user_id: Mapped[str] = mapped_column(_S)
    client_order_id: Mapped[str] = mapped_column(String(36))
    fingerprint: Mapped[str] = mapped_column(String(32))
    instrument: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[str] = mapped_column(_NUM)
    price: Mapped[str | None] = mapped_column(_NUM, nullable=True)
    stop_price: Mapped[str | None] = mapped_column(_NUM, nullable=True)
    trailing_bps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    time_in_force: Mapped[str] = mapped_column(String(3))
    expire_at_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    filled_quantity: Mapped[str] = mapped_column(_NUM)
    average_price: Mapped[str | None] = mapped_column(_NUM, nullable=True)
    venue_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    first_miss_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)
    # the execution algorithm this order is a child of (migration 0003)
    parent_algo_id: Mapped[str | None] = mapped_column(_S, nullable=True, index=True)


class AlgoRow(Base):
    """A parent order worked by an execution algorithm: `params` rebuild the object,
    `state` is its checkpoint(); its children are rows of `orders` (parent_algo_id)."""

    __tablename__ = "algos"
    __table_args__ = (
        UniqueConstraint("account_id", "client_algo_id", name="uq_algos_client_id"),
    )

    id: Mapped[str] = mapped_column(_S, primary_key=True)
    account_id: Mapped[str] = mapped_column(_S)
    org_id: Mapped[str] = mapped_column(_S, index=True)
    user_id: Mapped[str] = mapped_column(_S)
    client_algo_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    instrument: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_ns: Mapped[int] = mapped_column(BigInteger)
    updated_ns: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=0)


class TransitionRow(Base):
    __tablename__ = "order_transitions"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(_S, index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    filled_quantity: Mapped[str] = mapped_column(_NUM)
    source: Mapped[str] = mapped_column(String(16))  # api, venue, stream, reconcile
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    ts_ns: Mapped[int] = mapped_column(BigInteger)


class FillRow(Base):
    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("account_id", "instrument", "fill_id", name="uq_fills_venue_id"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(_S, index=True)
    org_id: Mapped[str] = mapped_column(_S)
    order_id: Mapped[str] = mapped_column(_S, index=True)
    fill_id: Mapped[str] = mapped_column(String(64))
    instrument: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[str] = mapped_column(_NUM)
    quantity: Mapped[str] = mapped_column(_NUM)
    fee: Mapped[str] = mapped_column(_NUM)
    fee_asset: Mapped[str] = mapped_column(String(20))
    liquidity: Mapped[str] = mapped_column(String(5))
    ts_ns: Mapped[int] = mapped_column(BigInteger)


class PositionRow(Base):
    __tablename__ = "positions"

    account_id: Mapped[str] = mapped_column(_S, primary_key=True)
    instrument: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(_S)
    quantity: Mapped[str] = mapped_column(_NUM)
    average_entry: Mapped[str | None] = mapped_column(_NUM, nullable=True)
    realized_pnl: Mapped[str] = mapped_column(_NUM)
    fees_paid: Mapped[str] = mapped_column(_NUM)
    updated_ns: Mapped[int] = mapped_column(BigInteger)
    # USD-M perpetuals: set by PUT /api/v1/positions/{instrument}/leverage; None means the
    # service's default (settings.perp_leverage). A flat position keeps its row for it.
    leverage: Mapped[int | None] = mapped_column(Integer, nullable=True)


class BalanceRow(Base):
    __tablename__ = "balances"

    account_id: Mapped[str] = mapped_column(_S, primary_key=True)
    asset: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(_S)
    total: Mapped[str] = mapped_column(_NUM)
    updated_ns: Mapped[int] = mapped_column(BigInteger)


class BalanceEntryRow(Base):
    __tablename__ = "balance_entries"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(_S, index=True)
    asset: Mapped[str] = mapped_column(String(20))
    delta: Mapped[str] = mapped_column(_NUM)
    reason: Mapped[str] = mapped_column(String(16))  # deposit, trade, fee, pnl, venue
    ref: Mapped[str | None] = mapped_column(String(80), nullable=True)
    ts_ns: Mapped[int] = mapped_column(BigInteger)
