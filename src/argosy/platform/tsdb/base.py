"""The time-series store every backend implements: ClickHouse SQL, two ways to run it.

`chdb://` runs ClickHouse embedded in the process (a laptop, CI, one-box installs);
`clickhouse://` talks to a server. Both run the same SQL text:
- Parameters are server-side `{name:Type}` placeholders, rendered identically by
  `_sql.render_param`; values are never spliced into SQL.
- Each service owns one database, named at construction and created by `connect`;
  unqualified table names resolve to it.
- Values cross the boundary by one contract (see `_types`): Decimal stays Decimal,
  DateTime/DateTime64 are int nanoseconds UTC.
- A refused statement raises `QueryError`; an unreachable store raises
  `kernel.errors.Unavailable`; a bad identifier or value raises `kernel.errors.Invalid`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argosy.kernel.errors import Invalid
from argosy.platform.lifecycle import Connectable
from argosy.platform.tsdb._sql import QueryError, TableRef, bind_params, validate_identifier
from argosy.platform.tsdb._types import ChType, parse_type

__all__ = ["Column", "QueryError", "QueryResult", "TableRef", "TimeSeriesDB"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Rows of a SELECT, as tuples in `columns` order."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class Column:
    """A target column of an insert, with its declared type (from DESCRIBE TABLE)."""

    name: str
    type_name: str
    type: ChType


class TimeSeriesDB(Connectable):
    """ClickHouse-dialect store for one service's database; see the module docstring."""

    #: short name for logs, metrics and /readyz ("chdb", "clickhouse")
    kind: str = "tsdb"
    #: rows per INSERT statement; bounds memory and the size of one MergeTree part
    insert_batch_rows: int = 100_000

    def __init__(self, *, database: str) -> None:
        self.database = validate_identifier(database, field="database")

    @abc.abstractmethod
    async def connect(self) -> None:
        """Open the connection and create `self.database` if it is missing."""

    @abc.abstractmethod
    async def _execute(self, sql: str, params: dict[str, str]) -> None: ...

    @abc.abstractmethod
    async def _select(self, sql: str, params: dict[str, str]) -> QueryResult: ...

    @abc.abstractmethod
    async def _insert_batch(
        self, table: TableRef, columns: list[Column], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert one batch as one statement; values are as the caller gave them."""

    async def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run DDL or a mutation; any output is discarded."""
        await self._execute(sql, bind_params(sql, params))

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        return await self._select(sql, bind_params(sql, params))

    async def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> int:
        """Insert `rows` (each in `columns` order) in batches; returns the row count.

        Batches are separate statements: a failure in a later batch leaves earlier ones
        written, as with any ClickHouse bulk load. Use a ReplacingMergeTree key or
        dedupe on read if a retry must not double rows.
        """
        ref = TableRef.parse(table)
        names = [validate_identifier(c, field="columns") for c in columns]
        if not names or len(set(names)) != len(names):
            raise Invalid("columns must be non-empty and distinct", field="columns")
        if not rows:
            return 0
        declared = await self.column_types(ref)
        unknown = [n for n in names if n not in declared]
        if unknown:
            raise Invalid(f"table {table} has no column(s) {', '.join(unknown)}", field="columns")
        targets = [Column(n, declared[n], parse_type(declared[n])) for n in names]
        for start in range(0, len(rows), self.insert_batch_rows):
            await self._insert_batch(ref, targets, rows[start : start + self.insert_batch_rows])
        return len(rows)

    async def column_types(self, table: str | TableRef) -> dict[str, str]:
        """Column name -> declared ClickHouse type, in table order."""
        ref = table if isinstance(table, TableRef) else TableRef.parse(table)
        result = await self._select(f"DESCRIBE TABLE {ref.sql()}", {})
        return {row[0]: row[1] for row in result.rows}
