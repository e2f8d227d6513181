"""Idempotent consumers: remember which messages a consumer has already applied.

Call `first_time(session, consumer, msg_id)` inside the handler's transaction; if it
returns False the message was applied before (at-least-once delivery) and must be skipped.
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.platform.db.tables import processed_table

__all__ = ["first_time"]


async def first_time(session: AsyncSession, consumer: str, msg_id: str) -> bool:
    seen = await session.scalar(
        select(processed_table.c.msg_id).where(
            processed_table.c.consumer == consumer, processed_table.c.msg_id == msg_id
        )
    )
    if seen is not None:
        return False
    await session.execute(
        processed_table.insert().values(
            consumer=consumer, msg_id=msg_id, processed_ns=time.time_ns()
        )
    )
    return True
