"""ClickHouse embedded in the process (chdb): the time-series store with no server to run.

What chdb allows (chdb 4.x, checked by tests/integration/tsdb):
- One embedded engine per process, bound to one data path. Any number of sessions may
  open that same path (each with its own `USE` and `SET` state), but a session on a
  different path fails until every session is closed. Every service in one process must
  therefore share one `chdb://` path; each still gets its own database.
- One process per path: a second process opening a path in use fails.
- Calls are synchronous and may run for seconds, so they go to a worker thread, one at a
  time per store (an asyncio.Lock): a streaming insert occupies the session, and a call
  that is cancelled keeps the lock until its thread is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

import orjson
import structlog
from chdb.session import Session

from argosy.kernel.errors import ConfigurationError, Invalid, Unavailable
from argosy.platform.tsdb._sql import TableRef, engine_error, quote_identifier
from argosy.platform.tsdb._types import json_reader, json_writer, parse_type, prepare_columns
from argosy.platform.tsdb.base import Column, QueryResult, TimeSeriesDB

__all__ = ["ChdbTSDB"]

log = structlog.get_logger("argosy.tsdb")
T = TypeVar("T")


class _Session(Protocol):
    """The part of chdb's (untyped) Session this module uses."""

    def query(self, sql: str, fmt: str = ..., *, params: dict[str, str] | None = ...) -> Any: ...

    def send_insert(self, query: str, fmt: str = ...) -> Any: ...

    def close(self) -> None: ...


_new_session: Callable[[str], _Session] = Session

# Output settings that the JSON reader in _types relies on; session-scoped in chdb.
_SESSION_SETTINGS = (
    "output_format_json_quote_decimals = 1",
    "output_format_json_quote_64bit_integers = 1",
    "output_format_json_quote_denormals = 1",
    "output_format_json_named_tuples_as_objects = 0",
    "date_time_output_format = 'unix_timestamp'",
)


class ChdbTSDB(TimeSeriesDB):
    """One chdb session on `path`, with `database` as its current database."""

    kind = "chdb"

    def __init__(self, path: Path, database: str) -> None:
        super().__init__(database=database)
        self.path = Path(path)
        self._session: _Session | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ChdbTSDB(path={str(self.path)!r}, database={self.database!r})"

    async def connect(self) -> None:
        if self._session is None:
            self._session = await self._run(self._open)
            log.info("tsdb.connected", kind=self.kind, path=str(self.path), db=self.database)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await self._run(session.close)

    async def check(self) -> None:
        try:
            await self._run(lambda: self._call("SELECT 1", "TabSeparated", None))
        except Unavailable:
            raise
        except Exception as exc:
            raise Unavailable(f"chdb at {self.path}: {exc}", dependency="tsdb") from exc

    async def _execute(self, sql: str, params: dict[str, str]) -> None:
        await self._run(lambda: self._call(sql, "TabSeparated", params))

    async def _select(self, sql: str, params: dict[str, str]) -> QueryResult:
        return await self._run(lambda: _decode(self._call(sql, "JSONCompact", params)))

    async def _insert_batch(
        self, table: TableRef, columns: list[Column], rows: Sequence[Sequence[Any]]
    ) -> None:
        await self._run(lambda: self._insert_sync(table, columns, rows))

    # --- in the worker thread -----------------------------------------------------------

    def _open(self) -> _Session:
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            session = _new_session(str(self.path))
        except RuntimeError as exc:
            if "already initialized with path" in str(exc):
                raise ConfigurationError(
                    "ARGOSY_TSDB_URL",
                    f"chdb is already open on another path in this process ({exc}); every"
                    " service in one process must use the same chdb:// path",
                ) from None
            raise Unavailable(
                f"cannot open chdb at {self.path} (in use by another process?): {exc}",
                dependency="tsdb",
            ) from None
        db = quote_identifier(self.database)
        try:
            for sql in (f"CREATE DATABASE IF NOT EXISTS {db}", f"USE {db}"):
                session.query(sql, "TabSeparated")
            for setting in _SESSION_SETTINGS:
                session.query(f"SET {setting}", "TabSeparated")
        except RuntimeError as exc:
            session.close()
            raise Unavailable(f"chdb at {self.path}: {exc}", dependency="tsdb") from None
        return session

    def _call(self, sql: str, fmt: str, params: dict[str, str] | None) -> bytes:
        session = self._require()
        try:
            result = session.query(sql, fmt, params=params or None)
        except RuntimeError as exc:
            raise engine_error(str(exc)) from None
        data: bytes = result.bytes()
        return data

    def _insert_sync(
        self, table: TableRef, columns: list[Column], rows: Sequence[Sequence[Any]]
    ) -> None:
        data = prepare_columns([(c.name, c.type) for c in columns], rows, json_writer)
        try:
            payload = orjson.dumps(data, default=_json_default)
        except orjson.JSONEncodeError as exc:
            raise Invalid(f"insert into {table.name}: {exc}", field="rows") from None
        names = ", ".join(quote_identifier(c.name) for c in columns)
        session = self._require()
        try:
            with session.send_insert(
                f"INSERT INTO {table.sql()} ({names})", "JSONCompactColumns"
            ) as inserter:
                inserter.append(payload)
                inserter.finish()
        except RuntimeError as exc:
            raise engine_error(str(exc)) from None

    def _require(self) -> _Session:
        if self._session is None:
            raise Unavailable("chdb store is not connected", dependency="tsdb")
        return self._session

    # --- the one way onto the worker thread ---------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        async with self._lock:
            task = asyncio.ensure_future(asyncio.to_thread(fn))
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                # The thread cannot be interrupted: hold the lock until it finishes so
                # the next call never meets a half-done statement on this session.
                await asyncio.wait([task])
                if not task.cancelled():
                    task.exception()  # retrieved, so asyncio does not log it as lost
                raise


def _decode(data: bytes) -> QueryResult:
    """JSONCompact output -> QueryResult, converting each column by its declared type."""
    if not data.strip():
        return QueryResult(columns=[], rows=[])
    doc = orjson.loads(data)
    meta = doc["meta"]
    columns = [m["name"] for m in meta]
    readers = [json_reader(parse_type(m["type"])) for m in meta]
    if not any(readers):
        return QueryResult(columns=columns, rows=[tuple(r) for r in doc["data"]])
    rows = [
        tuple(v if f is None else f(v) for f, v in zip(readers, row, strict=True))
        for row in doc["data"]
    ]
    return QueryResult(columns=columns, rows=rows)


def _json_default(value: Any) -> Any:
    """Values orjson cannot write itself, found inside arrays, tuples or maps."""
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    raise TypeError(f"cannot insert a {type(value).__name__}")
