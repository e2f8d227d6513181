"""The notification service's own tables: preferences, push subscriptions, template
overrides, the delivery queue, the inbox, digest items and price alerts.

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
_S = sa.String(40)
_TABLES = ("price_alerts", "digest_items", "inbox", "deliveries", "templates",
           "push_subscriptions", "preferences")


def upgrade() -> None:
    op.create_table(
        "preferences",
        sa.Column("user_id", _S, primary_key=True),
        sa.Column("org_id", _S, nullable=False, index=True),
        sa.Column("locale", sa.String(35), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(16)),
        sa.Column("telegram_chat_id", sa.String(40)),
        sa.Column("webhook_url", sa.Text),
        sa.Column("webhook_secret_sealed", sa.Text),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("severity_channels", sa.JSON, nullable=False),
        sa.Column("quiet_start", sa.String(5)),
        sa.Column("quiet_end", sa.String(5)),
        sa.Column("digest_interval_s", sa.Integer),
        sa.Column("digest_severities", sa.JSON, nullable=False),
        sa.Column("saved", sa.Boolean, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", _S, primary_key=True),
        sa.Column("user_id", _S, nullable=False, index=True),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("endpoint_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(100), nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "templates",
        sa.Column("id", _S, primary_key=True),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("locale", sa.String(35), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("org_id", "event_type", "channel", "locale"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", _S, primary_key=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("user_id", _S, nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("recipient_ref", _S),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.Text),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_ns", sa.BigInteger, nullable=False),
        sa.Column("held_until_ns", sa.BigInteger),
        sa.Column("claim_token", sa.String(40)),
        sa.Column("lease_until_ns", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.Column("provider_id", sa.String(200)),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
        sa.Column("sent_ns", sa.BigInteger),
        sa.Column("delivered_ns", sa.BigInteger),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_ns"])
    op.create_index("ix_deliveries_user", "deliveries", ["user_id", "id"])
    op.create_index("ix_deliveries_fingerprint", "deliveries", ["fingerprint", "created_ns"])
    op.create_table(
        "inbox",
        sa.Column("id", _S, primary_key=True),
        sa.Column("user_id", _S, nullable=False),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("read_ns", sa.BigInteger),
    )
    op.create_index("ix_inbox_user", "inbox", ["user_id", "id"])
    op.create_table(
        "digest_items",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", _S, nullable=False),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_digest_items_user", "digest_items", ["user_id", "channel", "created_ns"])
    op.create_table(
        "price_alerts",
        sa.Column("id", _S, primary_key=True),
        sa.Column("user_id", _S, nullable=False),
        sa.Column("org_id", _S, nullable=False),
        sa.Column("instrument", sa.String(80), nullable=False, index=True),
        sa.Column("condition", sa.String(12), nullable=False),
        sa.Column("level", sa.String(64)),
        sa.Column("pct", sa.String(16)),
        sa.Column("window_s", sa.Integer),
        sa.Column("repeat", sa.Boolean, nullable=False),
        sa.Column("cooldown_s", sa.Integer, nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("fired_count", sa.Integer, nullable=False),
        sa.Column("last_fired_ns", sa.BigInteger),
        sa.Column("last_price", sa.String(64)),
        sa.Column("created_ns", sa.BigInteger, nullable=False),
        sa.Column("updated_ns", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_price_alerts_user", "price_alerts", ["user_id", "id"])


def downgrade() -> None:
    for name in _TABLES:
        op.drop_table(name)
