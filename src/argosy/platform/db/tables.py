"""Tables every service has in its own database: the outbox and the processed-message log.

Services create them from their first migration with `create_platform_tables(op)`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "create_platform_tables",
    "drop_platform_tables",
    "outbox_table",
    "platform_metadata",
    "processed_table",
]

platform_metadata = MetaData()

# BIGINT on PostgreSQL, INTEGER (the rowid alias, so autoincrement works) on SQLite.
_ID = BigInteger().with_variant(Integer(), "sqlite")

outbox_table = Table(
    "outbox",
    platform_metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("msg_id", String(64), nullable=False, unique=True),
    Column("topic", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_ns", BigInteger, nullable=False),
    Column("published_ns", BigInteger, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
)
Index(
    "ix_outbox_pending",
    outbox_table.c.id,
    postgresql_where=outbox_table.c.published_ns.is_(None),
    sqlite_where=outbox_table.c.published_ns.is_(None),
)

processed_table = Table(
    "processed_messages",
    platform_metadata,
    Column("consumer", String(128), primary_key=True),
    Column("msg_id", String(64), primary_key=True),
    Column("processed_ns", BigInteger, nullable=False),
)


def create_platform_tables(op: Any) -> None:
    """Called from a service's first migration (`op` is alembic.op)."""
    bind = op.get_bind()
    platform_metadata.create_all(bind)


def drop_platform_tables(op: Any) -> None:
    platform_metadata.drop_all(op.get_bind())
