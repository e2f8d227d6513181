"""Optimizations table (parameter searches). ML models live in the object store under
`models/<name>/<version>/` with their metrics, so they need no table.

Revision ID: 0003_optimizations_models
Revises: 0002_backtests
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_optimizations_models"
down_revision = "0002_backtests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "optimizations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy", sa.String(128), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("trials_done", sa.Integer, nullable=False),
        sa.Column("trials_total", sa.Integer, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("elapsed_s", sa.Float, nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("finished_ns", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_optimizations_status", "optimizations", ["status"])
    op.create_index("ix_optimizations_created_ns", "optimizations", ["created_ns"])


def downgrade() -> None:
    op.drop_index("ix_optimizations_created_ns", "optimizations")
    op.drop_index("ix_optimizations_status", "optimizations")
    op.drop_table("optimizations")
