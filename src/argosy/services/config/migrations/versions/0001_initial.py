"""Config service tables, plus the platform's outbox and processed-message tables.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from argosy.platform.db.tables import create_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    create_platform_tables(op)
    op.create_table(
        "documents",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("service", "namespace"),
    )
    op.create_table(
        "document_versions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.BigInteger, sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("diff", sa.JSON, nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("rolled_back_to", sa.Integer, nullable=True),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("document_id", "version"),
    )
    op.create_index("ix_document_versions_document_id", "document_versions", ["document_id"])
    op.create_table(
        "schemas",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("json_schema", sa.JSON, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("registered_by", sa.String(255), nullable=False),
        sa.Column("registered_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("service", "namespace"),
    )
    op.create_table(
        "audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("at_ns", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("namespace", sa.String(255), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_at_ns", "audit", ["at_ns"])
    op.create_index("ix_audit_service", "audit", ["service"])


def downgrade() -> None:
    for table in ("audit", "schemas", "document_versions", "documents"):
        op.drop_table(table)
