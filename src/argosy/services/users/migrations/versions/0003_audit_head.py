"""The audit log's head anchor: the newest row's seq and hash, MAC'd, rewritten by every
append (domain/audit_chain.py), so that removing the newest rows is detected.

An existing log gets an unsigned anchor at its current end; the service signs it with its
next append.

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


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=True),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.execute(
        "INSERT INTO audit_head (id, seq, hash, mac, updated_ns) "
        "SELECT 1, seq, hash, NULL, at_ns FROM audit_log "
        "WHERE seq = (SELECT MAX(seq) FROM audit_log)"
    )


def downgrade() -> None:
    op.drop_table("audit_head")
