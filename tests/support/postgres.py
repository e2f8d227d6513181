"""Schemas the PostgreSQL tests create, and dropping them afterwards.

Each test run prefixes its schemas with a random run id, so runs (and CI jobs sharing the
machine's PostgreSQL) never see each other's tables; these helpers remove them at the end.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.servers import POSTGRES_URL

__all__ = ["drop_schemas", "drop_schemas_sync"]


async def drop_schemas(like: str) -> None:
    """Drop every schema whose name matches the SQL LIKE pattern `like`."""
    engine = create_async_engine(POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            names = (await conn.execute(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :like"),
                {"like": like})).scalars().all()
            for name in names:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        await engine.dispose()


def drop_schemas_sync(like: str) -> None:
    """The same from synchronous code, even inside a running event loop (a session
    fixture's teardown may run on pytest-asyncio's loop thread)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, drop_schemas(like)).result()
