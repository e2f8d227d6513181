"""USD-M perpetuals: `positions.leverage`, the leverage chosen per account and instrument
(PUT /api/v1/positions/{instrument}/leverage). Nullable: existing rows keep the service's
default leverage.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("positions", sa.Column("leverage", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("positions", "leverage")
