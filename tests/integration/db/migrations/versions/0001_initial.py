"""Platform tables plus one table of the test's own, like a service's first migration.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from argosy.platform.db.tables import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables(op)
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("qty", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("items")
    drop_platform_tables(op)
