"""Execution algorithms: the `algos` table (parent state as the algorithm's JSON
checkpoint) and `orders.parent_algo_id`, so child orders stay ordinary orders and take the
same path as any other (pre-trade checks, durability, reconciliation).

No foreign key on `parent_algo_id`: SQLite cannot add one to an existing table without a
table rebuild, and the service writes the algo row before any of its children anyway.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_S = sa.String(40)


def upgrade() -> None:
    op.create_table(
        "algos",
        sa.Column("id", _S, primary_key=True),
        sa.Column("account_id", _S, nullable=False),
        sa.Column("org_id", _S, nullable=False, index=True),
        sa.Column("user_id", _S, nullable=False),
        sa.Column("client_algo_id", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("account_id", "client_algo_id", name="uq_algos_client_id"),
    )
    op.create_index("ix_algos_status", "algos", ["status"])
    op.add_column("orders", sa.Column("parent_algo_id", _S, nullable=True))
    op.create_index("ix_orders_parent_algo_id", "orders", ["parent_algo_id"])


def downgrade() -> None:
    op.drop_index("ix_orders_parent_algo_id", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("parent_algo_id")
    op.drop_index("ix_algos_status", table_name="algos")
    op.drop_table("algos")
