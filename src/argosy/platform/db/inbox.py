"""Idempotent consumers: remember which messages a consumer has already applied.

Call `first_time(session, consumer, msg_id)` inside the handler's transaction; if it
returns False the message was applied before (at-least-once delivery) and must be skipped.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.platform.db.tables import processed_table

__all__ = ["first_time"]


async def first_time(session: AsyncSession, consumer: str, msg_id: str) -> bool:
    # INSERT ... ON CONFLICT DO NOTHING, not SELECT-then-INSERT: when two instances handle
    # the same message at once, the second waits for the first to commit and then sees the
    # conflict, instead of failing its transaction with an integrity error.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt: Any = (
        dialect.insert(processed_table)
        .values(consumer=consumer, msg_id=msg_id, processed_ns=time.time_ns())
        .on_conflict_do_nothing(index_elements=["consumer", "msg_id"])
    )
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)
