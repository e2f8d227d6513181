"""A data migration: it must run exactly once however often the service connects.

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


def upgrade() -> None:
    items = sa.table("items", sa.column("name", sa.String), sa.column("qty", sa.Integer))
    op.bulk_insert(items, [{"name": "seed", "qty": 1}])


def downgrade() -> None:
    op.execute("DELETE FROM items WHERE name = 'seed'")
