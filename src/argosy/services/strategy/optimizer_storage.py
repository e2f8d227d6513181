"""Optuna storage shared by several processes or machines, on PostgreSQL.

Optuna's RDBStorage needs a synchronous PostgreSQL driver (psycopg/psycopg2), which this
project does not ship (it uses asyncpg). So a `postgresql://` URL gets Optuna's
JournalStorage over a journal table in PostgreSQL, written through asyncpg: the same
"many workers, one study" semantics Optuna documents for its Redis journal. When a sync
driver is installed, `postgresql+psycopg://...` (any URL with a driver) goes straight to
RDBStorage, as does `sqlite:///file`.

The journal is an append-only table of (log number, JSON op). Appends take a
transaction-scoped advisory lock and number their rows max+1, so numbers are contiguous
and become visible in order: a reader that sees log n has seen every log before it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import optuna
from optuna.storages.journal import BaseJournalBackend, JournalStorage

from argosy.kernel.errors import Invalid

__all__ = ["PostgresJournalBackend", "open_storage"]

T = TypeVar("T")
_TABLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
DEFAULT_TABLE = "argosy_optuna_journal"


class PostgresJournalBackend(BaseJournalBackend):
    """Optuna journal in one PostgreSQL table; process- and machine-safe (see module doc).

    asyncpg runs on a private event loop in a daemon thread, so Optuna's synchronous calls
    work from any thread, including one inside a service's own running loop."""

    def __init__(self, url: str, table: str = DEFAULT_TABLE) -> None:
        if not _TABLE.match(table):
            raise Invalid(f"bad journal table name {table!r}", field="storage")
        self._url = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._table = table
        self._lock_key = int.from_bytes(hashlib.sha256(table.encode()).digest()[:8], "big",
                                        signed=True)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="optuna-pg-journal")
        self._thread.start()
        self._conn: asyncpg.Connection | None = None
        self._call(self._ensure_table())

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._url)
        return self._conn

    async def _ensure_table(self) -> None:
        conn = await self._connection()
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", self._lock_key)
            await conn.execute(f"CREATE TABLE IF NOT EXISTS {self._table} "
                               "(log_number BIGINT PRIMARY KEY, op JSONB NOT NULL)")

    async def _read(self, start: int) -> list[dict[str, Any]]:
        conn = await self._connection()
        rows = await conn.fetch(f"SELECT op FROM {self._table} WHERE log_number >= $1 "  # noqa: S608
                                "ORDER BY log_number", start)
        return [json.loads(r["op"]) for r in rows]

    async def _append(self, logs: list[dict[str, Any]]) -> None:
        conn = await self._connection()
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", self._lock_key)
            first = await conn.fetchval(
                f"SELECT coalesce(max(log_number) + 1, 0) FROM {self._table}")  # noqa: S608
            await conn.executemany(
                f"INSERT INTO {self._table} (log_number, op) VALUES ($1, $2::jsonb)",  # noqa: S608
                [(first + i, json.dumps(log)) for i, log in enumerate(logs)])

    def read_logs(self, log_number_from: int) -> Iterable[dict[str, Any]]:
        return self._call(self._read(log_number_from))

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if logs:
            self._call(self._append(logs))

    def close(self) -> None:
        if self._conn is not None:
            self._call(self._conn.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self._url, "table": self._table}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"], state["table"])  # type: ignore[misc]


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for `url`; see the module docstring for which kind. A PostgreSQL
    URL may name its journal table with `?journal_table=name` (default
    `argosy_optuna_journal`), so separate deployments or tests can share one database."""
    scheme = url.split("://", 1)[0]
    if scheme in ("postgresql", "postgres", "postgresql+asyncpg"):
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        table = query.pop("journal_table", [DEFAULT_TABLE])[0]
        rest = urlencode({k: v[0] for k, v in query.items()})
        clean = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment))
        return JournalStorage(PostgresJournalBackend(clean, table))
    if "://" not in url:
        raise Invalid(f"storage must be a URL, got {url!r}", field="storage")
    return optuna.storages.RDBStorage(url)
