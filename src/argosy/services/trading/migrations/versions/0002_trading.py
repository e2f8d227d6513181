"""The trading service's own tables: accounts, orders and their transitions, fills,
positions, balances and the balance journal.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_S = sa.String(40)
_N = sa.String(64)
_TABLES = ("balance_entries", "balances", "positions", "fills", "order_transitions", "orders",
           "accounts")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", _S, primary_key=True),
        sa.Column("org_id", _S, nullable=False, index=True),
        sa.Column("user_id", _S, nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("venue", sa.String(32)),
        sa.Column("currency", sa.String(20), nullable=False),
        sa.Column("starting_balance", _N),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", _S, primary_key=True),
        sa.Column("account_id", _S, nullable=False),
        sa.Column("org_id", _S, nullable=False, index=True),
        sa.Column("user_id", _S, nullable=False),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("quantity", _N, nullable=False),
        sa.Column("price", _N),
        sa.Column("stop_price", _N),
        sa.Column("trailing_bps", sa.Integer),
        sa.Column("time_in_force", sa.String(3), nullable=False),
        sa.Column("expire_at_ns", sa.BigInteger),
        sa.Column("reduce_only", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("filled_quantity", _N, nullable=False),
        sa.Column("average_price", _N),
        sa.Column("venue_order_id", sa.String(64)),
        sa.Column("reason", sa.Text),
        sa.Column("misses", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_miss_ns", sa.BigInteger),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "client_order_id", name="uq_orders_client_id"),
    )
    op.create_index("ix_orders_account_status", "orders", ["account_id", "status"])
    op.create_table(
        "order_transitions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("order_id", _S, nullable=False, index=True),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("filled_quantity", _N, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "fills",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", _S, nullable=False, index=True),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("order_id", _S, nullable=False, index=True),
        sa.Column("fill_id", sa.String(64), nullable=False),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("price", _N, nullable=False),
        sa.Column("quantity", _N, nullable=False),
        sa.Column("fee", _N, nullable=False),
        sa.Column("fee_asset", sa.String(20), nullable=False),
        sa.Column("liquidity", sa.String(5), nullable=False),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "instrument", "fill_id", name="uq_fills_venue_id"),
    )
    op.create_table(
        "positions",
        sa.Column("account_id", _S, primary_key=True),
        sa.Column("instrument", sa.String(64), primary_key=True),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("quantity", _N, nullable=False),
        sa.Column("average_entry", _N),
        sa.Column("realized_pnl", _N, nullable=False),
        sa.Column("fees_paid", _N, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "balances",
        sa.Column("account_id", _S, primary_key=True),
        sa.Column("asset", sa.String(20), primary_key=True),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("total", _N, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "balance_entries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", _S, nullable=False, index=True),
        sa.Column("asset", sa.String(20), nullable=False),
        sa.Column("delta", _N, nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(80)),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for name in _TABLES:
        op.drop_table(name)
