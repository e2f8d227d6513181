"""ClickHouse column types, and how values cross the Python boundary on both backends.

One contract, whichever backend runs the SQL:
- Decimal columns hold `Decimal`, exactly; a float offered for one is refused (money
  never passes through binary floating point).
- DateTime and DateTime64 values come back as int nanoseconds since the epoch (UTC),
  and are written from int nanoseconds or aware datetimes, truncated to the column's
  precision. Store timestamps in DateTime64(9) to keep every nanosecond.
- 64-bit and wider integers are exact ints; Date is `datetime.date`; UUID is `uuid.UUID`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from argosy.kernel.errors import Invalid
from argosy.platform.tsdb._sql import datetime_to_ns

__all__ = [
    "ChType",
    "Convert",
    "json_reader",
    "json_writer",
    "native_writer",
    "parse_type",
    "prepare_columns",
    "ticks_reader",
]

Convert = Callable[[Any], Any]

_NAMED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)", re.S)
_WRAPPERS = frozenset({"Nullable", "LowCardinality", "Array", "Map", "Tuple"})
_WIDE_INTS = frozenset({"Int64", "UInt64", "Int128", "UInt128", "Int256", "UInt256"})
_DECIMALS = frozenset({"Decimal", "Decimal32", "Decimal64", "Decimal128", "Decimal256"})


@dataclass(frozen=True, slots=True)
class ChType:
    """A parsed type name: `inner` holds element types of wrappers, `args` the rest."""

    name: str
    args: tuple[str, ...] = ()
    inner: tuple[ChType, ...] = ()

    @property
    def scale(self) -> int:
        """Digits after the second of DateTime/DateTime64 (0 for DateTime)."""
        return int(self.args[0]) if self.name == "DateTime64" and self.args else 0

    def base(self) -> ChType:
        """The type under Nullable/LowCardinality: what a single value is."""
        if self.name in ("Nullable", "LowCardinality") and self.inner:
            return self.inner[0].base()
        return self


def parse_type(text: str) -> ChType:
    """Parse a ClickHouse type name such as `Nullable(DateTime64(9, 'UTC'))`."""
    text = text.strip()
    open_at = text.find("(")
    if open_at < 0 or not text.endswith(")"):
        return ChType(text)
    name = text[:open_at].strip()
    args = tuple(_split_args(text[open_at + 1 : -1]))
    if name not in _WRAPPERS:
        return ChType(name, args)
    inner = []
    for arg in args:
        named = _NAMED.fullmatch(arg) if name == "Tuple" else None
        inner.append(parse_type(named.group(2) if named else arg))
    return ChType(name, (), tuple(inner))


def _split_args(body: str) -> list[str]:
    """Split on top-level commas, honouring parentheses and quoted strings."""
    parts: list[str] = []
    depth, start, quote, i = 0, 0, "", 0
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
        i += 1
    parts.append(body[start:].strip())
    return [p for p in parts if p]


# --- reading: chdb's JSONCompact text -> Python -----------------------------------------


def json_reader(t: ChType) -> Convert | None:
    """Converter for one JSONCompact value of type `t`; None when JSON is already right.

    Assumes the session settings the chdb backend sets: quoted decimals and 64-bit ints,
    `date_time_output_format='unix_timestamp'`, tuples as arrays.
    """
    name = t.name
    if name in ("Nullable", "LowCardinality"):
        return json_reader(t.inner[0])
    if name == "Array":
        item = json_reader(t.inner[0])
        return None if item is None else _each(item)
    if name == "Tuple":
        return _tuple([json_reader(i) for i in t.inner])
    if name == "Map":
        key, val = json_reader(t.inner[0]), json_reader(t.inner[1])
        key = key or (_to_int if t.inner[0].base().name.startswith(("Int", "UInt")) else None)
        return _map(key, val)
    if name in _DECIMALS:
        return _nullable(Decimal)
    if name in _WIDE_INTS:
        return _nullable(int)
    if name in ("Float32", "Float64", "BFloat16"):
        return _nullable(float)
    if name in ("DateTime", "DateTime64"):
        return _nullable(_seconds_text_to_ns)
    if name in ("Date", "Date32"):
        return _nullable(dt.date.fromisoformat)
    if name == "UUID":
        return _nullable(uuid.UUID)
    return None


def _seconds_text_to_ns(text: str) -> int:
    whole, _, frac = text.partition(".")
    ns = abs(int(whole)) * 1_000_000_000 + int(frac.ljust(9, "0")[:9] or "0")
    return -ns if whole.startswith("-") else ns


# --- reading: clickhouse-connect values -> Python ---------------------------------------


def ticks_reader(t: ChType) -> Convert | None:
    """Converter from clickhouse-connect's raw DateTime ticks (read format 'int') to ns."""
    name = t.name
    if name in ("Nullable", "LowCardinality"):
        return ticks_reader(t.inner[0])
    if name == "Array":
        item = ticks_reader(t.inner[0])
        return None if item is None else _each(item)
    if name == "Tuple":
        readers = [ticks_reader(i) for i in t.inner]
        return None if not any(readers) else _tuple(readers)
    if name == "Map":
        key, val = ticks_reader(t.inner[0]), ticks_reader(t.inner[1])
        return None if key is None and val is None else _map(key, val)
    if name in ("DateTime", "DateTime64"):
        factor = 10 ** (9 - t.scale)
        return _nullable(lambda ticks: ticks * factor)
    return None


# --- writing: Python -> each backend ----------------------------------------------------


def native_writer(t: ChType, column: str) -> Convert | None:
    """Check and normalise one value for clickhouse-connect's Native encoder."""
    base = t.base()
    if base.name in _DECIMALS:
        return _nullable(lambda v: _to_decimal(v, column))
    if base.name in ("DateTime", "DateTime64"):
        divisor = 10 ** (9 - base.scale)
        return _nullable(lambda v: _to_ns(v, column) // divisor)
    return None


def json_writer(t: ChType, column: str) -> Convert | None:
    """Check and render one value for chdb's JSONCompactColumns input.

    Decimals become exact text; timestamps become Unix seconds text at the column's
    precision, since ClickHouse reads a JSON number for DateTime64 as seconds.
    """
    base = t.base()
    if base.name in _DECIMALS:

        def decimal_text(v: Any) -> str | None:
            # str() may give exponent form (1E-18); ClickHouse reads it exactly, and it is
            # twice as fast as format(v, "f") on the hot path.
            if type(v) is Decimal and v.is_finite():
                return str(v)
            return None if v is None else str(_to_decimal(v, column))

        return decimal_text
    if base.name in ("DateTime", "DateTime64"):
        scale = base.scale
        divisor = 10 ** (9 - scale)

        def seconds_text(v: Any) -> str | None:
            if type(v) is int:
                return _ticks_text(v // divisor, scale)
            return None if v is None else _ticks_text(_to_ns(v, column) // divisor, scale)

        return seconds_text
    if base.name in _WIDE_INTS - {"Int64", "UInt64"}:
        return _nullable(str)
    return None


def prepare_columns(
    targets: Sequence[tuple[str, ChType]],
    rows: Sequence[Sequence[Any]],
    writer: Callable[[ChType, str], Convert | None],
) -> list[list[Any]]:
    """Rows -> checked column lists, each value passed through `writer` for its column."""
    width = len(targets)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise Invalid(f"row {i} has {len(row)} values for {width} columns", field="rows")
    columns: list[list[Any]] = []
    for (name, ch_type), values in zip(targets, zip(*rows, strict=True), strict=True):
        convert = writer(ch_type, name)
        columns.append(list(values) if convert is None else [convert(v) for v in values])
    return columns


def _to_decimal(value: Any, column: str) -> Decimal:
    if isinstance(value, Decimal):
        if value.is_finite():
            return value
    elif isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    elif isinstance(value, str):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            parsed = Decimal("NaN")
        if parsed.is_finite():
            return parsed
    raise Invalid(
        f"column {column}: {value!r} is not an exact decimal (pass Decimal, int or str)",
        field=column,
    )


def _to_ns(value: Any, column: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return datetime_to_ns(value, field=column)
    raise Invalid(
        f"column {column}: {value!r} is not a timestamp (pass int nanoseconds or a"
        " timezone-aware datetime)",
        field=column,
    )


def _ticks_text(ticks: int, scale: int) -> str:
    if scale == 0:
        return str(ticks)
    if ticks >= 0:
        whole, frac = divmod(ticks, 10**scale)
        return f"{whole}.{frac:0{scale}d}"
    whole, frac = divmod(-ticks, 10**scale)
    return f"-{whole}.{frac:0{scale}d}"


def _to_int(value: Any) -> int:
    return int(value)


def _nullable(fn: Convert) -> Convert:
    def convert(value: Any) -> Any:
        return None if value is None else fn(value)

    return convert


def _each(fn: Convert) -> Convert:
    return _nullable(lambda values: [fn(v) for v in values])


def _tuple(fns: Sequence[Convert | None]) -> Convert:
    def convert(values: Any) -> Any:
        if values is None:
            return None
        items = values.values() if isinstance(values, dict) else values
        return tuple(v if f is None else f(v) for f, v in zip(fns, items, strict=False))

    return convert


def _map(key: Convert | None, val: Convert | None) -> Convert:
    def convert(values: Any) -> Any:
        if values is None:
            return None
        return {
            (k if key is None else key(k)): (v if val is None else val(v))
            for k, v in values.items()
        }

    return convert
