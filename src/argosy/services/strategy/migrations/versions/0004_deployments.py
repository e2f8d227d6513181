"""Live deployments, with their orders and fills.

Revision ID: 0004_deployments
Revises: 0003_optimizations_models
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_deployments"
down_revision = "0003_optimizations_models"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(128), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("instruments", sa.JSON, nullable=False),
        sa.Column("feed", sa.String(8), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("org", sa.String(64), nullable=True),
        sa.Column("incarnation", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("stop_reason", sa.String(16), nullable=True),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("stopped_ns", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_deployments_status", "deployments", ["status"])
    op.create_index("ix_deployments_user_id", "deployments", ["user_id"])
    op.create_table(
        "deployment_orders",
        sa.Column("deployment_id", sa.String(40), primary_key=True),
        sa.Column("client_order_id", sa.String(36), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("filled_quantity", sa.String(64), nullable=False),
        sa.Column("average_price", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "deployment_fills",
        sa.Column("deployment_id", sa.String(40), primary_key=True),
        sa.Column("fill_key", sa.String(160), primary_key=True),
        sa.Column("client_order_id", sa.String(36), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("instrument", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("price", sa.String(64), nullable=False),
        sa.Column("quantity", sa.String(64), nullable=False),
        sa.Column("fee", sa.String(64), nullable=False),
        sa.Column("fee_asset", sa.String(16), nullable=False),
        sa.Column("liquidity", sa.String(8), nullable=False),
        sa.Column("ts_ns", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deployment_fills")
    op.drop_table("deployment_orders")
    op.drop_index("ix_deployments_user_id", "deployments")
    op.drop_index("ix_deployments_status", "deployments")
    op.drop_table("deployments")
