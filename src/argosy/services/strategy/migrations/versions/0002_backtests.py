"""Backtests table.

Revision ID: 0002_backtests
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_backtests"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(128), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("fills", sa.Integer, nullable=False),
        sa.Column("trades", sa.Integer, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("final_equity", sa.String(64), nullable=True),
        sa.Column("fills_digest", sa.String(64), nullable=True),
        sa.Column("elapsed_s", sa.Float, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("finished_ns", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_backtests_status", "backtests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_backtests_status", "backtests")
    op.drop_table("backtests")
