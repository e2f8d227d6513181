"""Databases for the db suite: SQLite files, and the PostgreSQL server at 127.0.0.1:5432.

On PostgreSQL every service of every test gets its own schema under one per-run prefix
(`db_schema_prefix`), so runs sharing the server never collide; all of the run's schemas
are dropped at the end, and a leftover fails the run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from argosy.platform.db.engine import Database
from tests.integration.db._setup import MIGRATIONS, RUN_PREFIX, MakeDb
from tests.support.servers import POSTGRES_URL


async def _pg_problem() -> str | None:
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def _run_schemas() -> list[str]:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        rows = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", RUN_PREFIX + "%"
        )
        return [r["nspname"] for r in rows]
    finally:
        await conn.close()


async def _drop_run_schemas() -> list[str]:
    names = await _run_schemas()
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        for name in names:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()
    return names


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    problem = asyncio.run(_pg_problem())
    if problem:
        pytest.skip(f"PostgreSQL not usable at {POSTGRES_URL}: {problem}")
    yield POSTGRES_URL
    asyncio.run(_drop_run_schemas())
    assert asyncio.run(_run_schemas()) == []


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        request.getfixturevalue("postgres_url")
    name: str = request.param
    return name


@pytest.fixture
def schema_prefix() -> str:
    """Unique to the test, inside the run's prefix."""
    return f"{RUN_PREFIX}{uuid.uuid4().hex[:6]}_"


@pytest.fixture
async def make_db(
    backend: str, tmp_path: Path, schema_prefix: str
) -> AsyncIterator[MakeDb]:
    """Unconnected Database objects on the test's backend; all closed afterwards.

    Two calls with the same service name are two processes of that service.
    """
    made: list[Database] = []

    def make(service: str = "svc") -> Database:
        url = POSTGRES_URL if backend == "postgresql" else "sqlite://"
        db = Database(url, service=service, data_dir=tmp_path, schema_prefix=schema_prefix)
        made.append(db)
        return db

    yield make
    for db in made:
        await db.close()


@pytest.fixture
async def db(make_db: MakeDb) -> Database:
    """One connected, migrated database of service `svc`."""
    database = make_db()
    await database.connect(MIGRATIONS)
    return database
