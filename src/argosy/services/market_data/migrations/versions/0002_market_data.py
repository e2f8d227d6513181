"""Market data: instrument metadata, subscriptions, gaps, backfill jobs, kline checks.

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

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "instruments",
        sa.Column("instrument_id", sa.String(80), primary_key=True),
        sa.Column("venue", sa.String(32), nullable=False),
        sa.Column("market", sa.String(16), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("base", sa.String(20), nullable=False),
        sa.Column("quote", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("tick_size", sa.String(40), nullable=True),
        sa.Column("lot_size", sa.String(40), nullable=True),
        sa.Column("min_qty", sa.String(40), nullable=True),
        sa.Column("min_notional", sa.String(40), nullable=True),
        sa.Column("max_qty", sa.String(40), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_instruments_venue", "instruments", ["venue", "market"])
    op.create_table(
        "subscriptions",
        sa.Column("instrument_id", sa.String(80), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("changed_by", sa.String(255), nullable=False),
        sa.Column("changed_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "gaps",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("instrument_id", sa.String(80), nullable=False),
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_ns", sa.BigInteger, nullable=False),
        sa.Column("ended_ns", sa.BigInteger, nullable=True),
        sa.Column("first_missing", sa.BigInteger, nullable=True),
        sa.Column("last_missing", sa.BigInteger, nullable=True),
        sa.Column("repaired", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("found_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_gaps_instrument", "gaps", ["instrument_id", "started_ns"])
    op.create_table(
        "backfill_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("instrument_id", sa.String(80), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("bars", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("finished_ns", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "kline_mismatches",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("instrument_id", sa.String(80), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("ts_open_ns", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(24), nullable=False),
        sa.Column("ours", sa.String(64), nullable=False),
        sa.Column("theirs", sa.String(64), nullable=False),
        sa.Column("found_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("instrument_id", "interval", "ts_open_ns", "field"),
    )


def downgrade() -> None:
    for table in ("kline_mismatches", "backfill_jobs", "gaps", "subscriptions", "instruments"):
        op.drop_table(table)
