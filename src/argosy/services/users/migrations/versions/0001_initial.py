"""The platform's outbox and processed-message tables for the users service.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from argosy.platform.db.tables import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables(op)


def downgrade() -> None:
    drop_platform_tables(op)
