"""The risk service's own tables: rule versions, alerts, the real-time view (accounts,
positions, balances, returns), server-side stops and reports.

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
_S = sa.String(64)
_DEC = sa.String(60)
_TABLES = (
    "reports",
    "stops",
    "returns",
    "balances",
    "positions",
    "accounts",
    "alerts",
    "rule_versions",
)


def upgrade() -> None:
    op.create_table(
        "rule_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("comment", sa.String(500)),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("config_version", sa.Integer),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("key", _S),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("user_id", _S),
        sa.Column("account_id", _S),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("dedupe", sa.String(160), unique=True),
        sa.Column("at_ns", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_alerts_org_at", "alerts", ["org_id", "at_ns"])
    op.create_table(
        "accounts",
        sa.Column("account_id", _S, primary_key=True),
        sa.Column("org_id", _S, nullable=False, index=True),
        sa.Column("user_id", _S, nullable=False, index=True),
        sa.Column("peak_equity", _DEC, nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("day_start_equity", _DEC, nullable=False),
        sa.Column("last_return_equity", _DEC, nullable=False),
        sa.Column("last_return_ns", sa.BigInteger, nullable=False),
        sa.Column("breached", sa.String(40)),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "positions",
        sa.Column("account_id", _S, primary_key=True),
        sa.Column("instrument", sa.String(80), primary_key=True),
        sa.Column("quantity", _DEC, nullable=False),
        sa.Column("average_entry", _DEC),
        sa.Column("realized_pnl", _DEC, nullable=False),
        sa.Column("unrealized_pnl", _DEC, nullable=False),
        sa.Column("mark_price", _DEC),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "balances",
        sa.Column("account_id", _S, primary_key=True),
        sa.Column("asset", sa.String(20), primary_key=True),
        sa.Column("total", _DEC, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "returns",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("account_id", _S, nullable=False, index=True),
        sa.Column("at_ns", sa.BigInteger, nullable=False),
        sa.Column("value", _DEC, nullable=False),
    )
    op.create_table(
        "stops",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("user_id", _S, nullable=False, index=True),
        sa.Column("account_id", _S, nullable=False),
        sa.Column("instrument", sa.String(80), nullable=False),
        sa.Column("stop_loss", _DEC),
        sa.Column("take_profit", _DEC),
        sa.Column("trailing_bps", sa.Integer),
        sa.Column("trail_anchor", _DEC),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("trigger", sa.String(20)),
        sa.Column("order_ref", sa.String(80)),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("triggered_ns", sa.BigInteger),
    )
    op.create_index("ix_stops_active", "stops", ["status", "instrument"])
    op.create_table(
        "reports",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("key", _S, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("day", sa.Integer),
        sa.Column("html_key", sa.String(300), nullable=False),
        sa.Column("pdf_key", sa.String(300)),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_reports_org_at", "reports", ["org_id", "created_ns"])


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
