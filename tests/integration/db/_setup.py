"""Names the db suite shares between its conftest and its tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from argosy.platform.db.engine import Database

__all__ = ["MIGRATIONS", "RUN_PREFIX", "MakeDb"]

# a service-like Alembic history: platform tables, an `items` table, a one-row data migration
MIGRATIONS = Path(__file__).parent / "migrations"
# every PostgreSQL schema this run creates starts with it, so the run can drop them all
RUN_PREFIX = f"t{uuid.uuid4().hex[:8]}_"

MakeDb = Callable[..., Database]
