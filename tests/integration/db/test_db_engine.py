"""Database: URLs, migrations at connect, one schema per service, transactions, concurrency."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Integer, String, column, func, select, table, text
from sqlalchemy.exc import IntegrityError

from argosy.kernel.errors import ConfigurationError, Unavailable
from argosy.platform.db.engine import Database, resolve_db_url
from argosy.platform.db.migrations import current_revision
from tests.integration.db._setup import MIGRATIONS, MakeDb
from tests.support.servers import free_port

ITEMS = text("SELECT name, qty FROM items ORDER BY name")
ITEMS_TABLE = table("items", column("name", String), column("qty", Integer))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://", "sqlite+aiosqlite:///{data}/db/market_data.sqlite3"),
        ("sqlite:///rel/dir", "sqlite+aiosqlite:///{cwd}/rel/dir/market_data.sqlite3"),
        ("sqlite:////abs/dir", "sqlite+aiosqlite:////abs/dir/market_data.sqlite3"),
        ("sqlite:////abs/one.db", "sqlite+aiosqlite:////abs/one.db"),
        ("sqlite:///x/app.sqlite3", "sqlite+aiosqlite:///{cwd}/x/app.sqlite3"),
        ("postgresql://u:p@h:5433/db", "postgresql+asyncpg://u:p@h:5433/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u@h/db?x=1", "postgresql+asyncpg://u@h/db?x=1"),
    ],
)
def test_resolve_db_url(
    url: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    kind, resolved = resolve_db_url(url, service="market-data", data_dir=tmp_path / "var")
    assert kind == ("sqlite" if url.startswith("sqlite") else "postgresql")
    assert resolved == expected.format(data=tmp_path / "var", cwd=tmp_path)


def test_resolve_db_url_refuses_other_schemes(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="ARGOSY_DB_URL"):
        resolve_db_url("mysql://h/db", service="risk", data_dir=tmp_path)


async def test_migrations_apply_at_connect_and_only_once(make_db: MakeDb) -> None:
    first = make_db()
    await first.connect(MIGRATIONS)
    async with first.read() as s:
        assert (await s.execute(ITEMS)).all() == [("seed", 1)]
    async with first.engine.connect() as conn:
        assert await conn.run_sync(current_revision, first.schema) == "0002"
    await first.close()

    again = make_db()  # a restart of the same service
    await again.connect(MIGRATIONS)
    await again.connect(MIGRATIONS)
    async with again.read() as s:
        assert (await s.execute(ITEMS)).all() == [("seed", 1)]


async def test_transaction_commits_or_rolls_back(db: Database) -> None:
    async def use_case(*statements: str, fail: bool = False) -> None:
        async with db.transaction() as s:
            for sql in statements:
                await s.execute(text(sql))
            if fail:
                raise RuntimeError("boom")

    await use_case("INSERT INTO items (name, qty) VALUES ('kept', 1)")
    with pytest.raises(RuntimeError, match="boom"):
        await use_case(
            "INSERT INTO items (name, qty) VALUES ('lost', 1)",
            "UPDATE items SET qty = 99 WHERE name = 'kept'",
            fail=True,
        )
    with pytest.raises(IntegrityError):
        await use_case(
            "INSERT INTO items (name, qty) VALUES ('also-lost', 1)",
            "INSERT INTO items (name, qty) VALUES ('kept', 2)",
        )
    async with db.read() as s:
        assert (await s.execute(ITEMS)).all() == [("kept", 1), ("seed", 1)]


async def test_unconnected_database_is_unavailable(make_db: MakeDb) -> None:
    db = make_db()
    with pytest.raises(Unavailable):
        await db.check()
    with pytest.raises(Unavailable):
        async with db.transaction():
            pass
    await db.connect(MIGRATIONS)
    await db.check()
    await db.close()
    with pytest.raises(Unavailable):
        await db.check()
    with pytest.raises(Unavailable):
        async with db.transaction():
            pass
    with pytest.raises(Unavailable):
        async with db.read():
            pass
    await db.connect(MIGRATIONS)  # a closed database can be opened again
    async with db.read() as s:
        assert (await s.execute(ITEMS)).all() == [("seed", 1)]


async def test_concurrent_writers_queue_instead_of_failing(make_db: MakeDb) -> None:
    """Read-modify-write from many tasks on two engines (two processes) at once: on SQLite
    no SQLITE_BUSY and no lost update; on PostgreSQL the row lock does the same."""
    one, two = make_db(), make_db()
    await one.connect(MIGRATIONS)
    await two.connect(MIGRATIONS)
    seed = ITEMS_TABLE.c.name == "seed"

    async def bump(db: Database, n: int) -> None:
        async with db.transaction() as s:
            qty = await s.scalar(select(ITEMS_TABLE.c.qty).where(seed).with_for_update()) or 0
            await asyncio.sleep(0)
            await s.execute(ITEMS_TABLE.update().where(seed).values(qty=qty + 1))
            await s.execute(ITEMS_TABLE.insert().values(name=f"w{n}", qty=0))

    async def count(db: Database) -> int:
        async with db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(ITEMS_TABLE)) or 0)

    _, counts = await asyncio.gather(
        asyncio.gather(*(bump(one if i % 2 else two, i) for i in range(40))),
        asyncio.gather(*(count(one) for _ in range(10))),
    )
    assert all(1 <= n <= 41 for n in counts)
    async with one.read() as s:
        assert await s.scalar(select(ITEMS_TABLE.c.qty).where(seed)) == 41
    assert await count(two) == 41


@pytest.mark.integration
async def test_unreachable_postgres_is_unavailable(tmp_path: Path) -> None:
    db = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/test", service="risk",
                  data_dir=tmp_path)
    with pytest.raises(Unavailable) as info:
        await db.connect(MIGRATIONS)
    assert info.value.dependency == "db"
    await db.close()


@pytest.mark.integration
async def test_services_get_their_own_schemas(postgres_url: str, schema_prefix: str,
                                              tmp_path: Path) -> None:
    risk = Database(postgres_url, service="risk", data_dir=tmp_path, schema_prefix=schema_prefix)
    md = Database(postgres_url, service="market-data", data_dir=tmp_path,
                  schema_prefix=schema_prefix)
    try:
        await risk.connect(MIGRATIONS)
        await md.connect(MIGRATIONS)
        assert (risk.schema, md.schema) == (f"{schema_prefix}risk", f"{schema_prefix}market_data")
        async with risk.transaction() as s:
            await s.execute(text("INSERT INTO items (name, qty) VALUES ('risk-only', 1)"))
        async with md.read() as s:
            assert (await s.execute(ITEMS)).all() == [("seed", 1)]
        async with risk.read() as s:
            where = await s.execute(text(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema LIKE :p ORDER BY 1, 2"), {"p": schema_prefix + "%"})
            tables = where.all()
            public = await s.scalar(text(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_name = 'alembic_version'"))
        for schema in (risk.schema, md.schema):
            assert {t for s_, t in tables if s_ == schema} == {
                "alembic_version", "items", "outbox", "processed_messages",
            }
        assert public == 0
    finally:
        await risk.close()
        await md.close()


@pytest.mark.integration
async def test_instances_of_one_service_connect_concurrently(
    postgres_url: str, schema_prefix: str, tmp_path: Path
) -> None:
    """Several processes of one service start at once on a fresh schema (five rounds)."""
    for round_ in range(5):
        dbs = [
            Database(postgres_url, service=f"svc{round_}", data_dir=tmp_path,
                     schema_prefix=schema_prefix)
            for _ in range(4)
        ]
        try:
            await asyncio.gather(*(d.connect(MIGRATIONS) for d in dbs))
            async with dbs[0].read() as s:
                assert (await s.execute(ITEMS)).all() == [("seed", 1)]
        finally:
            for d in dbs:
                await d.close()
