"""Identifiers, query parameters and engine errors, shared by both backends.

Both backends bind `{name:Type}` parameters server-side from the same text rendering (the
ClickHouse "escaped" format), so a parameter means the same thing on chdb and on a server,
and no value is ever spliced into SQL. Identifiers cannot be parameters, so they are checked
against a strict pattern and backquoted.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from argosy.kernel.errors import ArgosyError, Invalid, Unavailable

__all__ = [
    "TRANSIENT_CODES",
    "QueryError",
    "TableRef",
    "bind_params",
    "datetime_to_ns",
    "engine_error",
    "quote_identifier",
    "render_param",
    "validate_identifier",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:")
_CODE = re.compile(r"Code:\s*(\d+)")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

#: ClickHouse error codes that say "try again later", not "your statement is wrong":
#: timeouts, overload, memory limit, read-only replica, too many parts.
TRANSIENT_CODES = frozenset({159, 202, 203, 209, 210, 241, 242, 252})


class QueryError(ArgosyError):
    """ClickHouse refused a statement (syntax, unknown table, type mismatch).

    Not `Invalid`: SQL is written by our code, so a refused statement is a bug to fix,
    not a caller's bad input, and it should surface as a server error.
    """

    code = "tsdb_query"

    def __init__(self, message: str, *, server_code: int | None = None) -> None:
        super().__init__(message, details={"server_code": server_code})
        self.server_code = server_code


@dataclass(frozen=True, slots=True)
class TableRef:
    """A validated table name, optionally qualified by its database."""

    name: str
    database: str | None = None

    @classmethod
    def parse(cls, table: str) -> TableRef:
        parts = table.split(".") if isinstance(table, str) else [table]
        if len(parts) > 2:
            raise Invalid(f"invalid table name {table!r}: at most database.table", field="table")
        names = [validate_identifier(p, field="table") for p in parts]
        return cls(name=names[-1], database=names[0] if len(names) == 2 else None)

    def sql(self) -> str:
        if self.database is None:
            return quote_identifier(self.name)
        return f"{quote_identifier(self.database)}.{quote_identifier(self.name)}"


def validate_identifier(name: str, *, field: str = "identifier") -> str:
    """Return `name` if it is a plain identifier (letters, digits, _), else raise Invalid."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise Invalid(
            f"invalid {field} name {name!r}: letters, digits and _ only, not starting with a digit",
            field=field,
        )
    return name


def quote_identifier(name: str) -> str:
    return f"`{validate_identifier(name)}`"


def bind_params(sql: str, params: Mapping[str, Any] | None) -> dict[str, str]:
    """Render every parameter to text; each must appear as `{name:Type}` in `sql`.

    An unused name is refused: clickhouse-connect would otherwise fall back to client-side
    `%(name)s` substitution, which is exactly the splicing we rule out.
    """
    if not params:
        return {}
    used = set(_PLACEHOLDER.findall(sql))
    bound: dict[str, str] = {}
    for name, value in params.items():
        validate_identifier(name, field="parameter")
        if name not in used:
            raise Invalid(
                f"parameter {name!r} is not used as {{{name}:Type}} in the SQL", field=name
            )
        bound[name] = render_param(value, field=name)
    return bound


def render_param(value: Any, *, field: str = "parameter", top: bool = True) -> str:
    """The ClickHouse text of one parameter value.

    At the top level values are in the escaped (TSV) format; inside arrays, tuples and maps
    they are SQL literals. Datetimes must be timezone-aware and travel as Unix seconds, so
    the server's and the column's timezone cannot shift them.
    """
    if value is None:
        return "\\N" if top else "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise Invalid(f"{field}: {value} is not a finite Decimal", field=field)
        return format(value, "f")
    if isinstance(value, str):
        return _escape_top(value) if top else _quote(value)
    if isinstance(value, dt.datetime):
        ns = datetime_to_ns(value, field=field)
        seconds, frac = divmod(ns, 1_000_000_000)
        text = str(seconds) if frac == 0 else f"{seconds}.{frac:09d}".rstrip("0")
        return text if top else _quote(text)
    if isinstance(value, dt.date | uuid.UUID):
        return str(value) if top else _quote(str(value))
    if isinstance(value, list | tuple):
        items = ", ".join(render_param(v, field=field, top=False) for v in value)
        return f"[{items}]" if isinstance(value, list) else f"({items})"
    if isinstance(value, Mapping):
        pairs = ", ".join(
            f"{render_param(k, field=field, top=False)}: {render_param(v, field=field, top=False)}"
            for k, v in value.items()
        )
        return f"{{{pairs}}}"
    raise Invalid(f"{field}: cannot bind a {type(value).__name__}", field=field)


def datetime_to_ns(value: dt.datetime, *, field: str = "value") -> int:
    """Exact nanoseconds since the epoch of an aware datetime; naive ones are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(f"{field}: naive datetime {value!s}; attach a timezone (UTC)", field=field)
    return (value - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def engine_error(message: str, server_code: int | None = None) -> ArgosyError:
    """Map an engine's error text to QueryError, or Unavailable for transient codes."""
    if server_code is None:
        found = _CODE.search(message)
        server_code = int(found.group(1)) if found else None
    text = message.strip()[:2000] or "ClickHouse error"
    if server_code in TRANSIENT_CODES:
        return Unavailable(text, dependency="tsdb")
    return QueryError(text, server_code=server_code)


def _escape_top(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _quote(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\t", "\\t").replace("\n", "\\n")
    )
    return f"'{escaped}'"
