"""Relational storage: one database per service (SQLite file or PostgreSQL schema),
Alembic migrations applied at start-up, and the transactional outbox."""

from argosy.platform.db.engine import Database
from argosy.platform.db.outbox import Outbox, OutboxRelay

__all__ = ["Database", "Outbox", "OutboxRelay"]
