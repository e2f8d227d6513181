"""A ClickHouse server over HTTP(S), through clickhouse-connect's async client.

URL: `clickhouse://user:password@host:8123/db?connect_timeout=10` (`clickhouses://` for TLS,
port 8443 by default). Options: connect_timeout, send_receive_timeout (seconds),
compress (true/false/lz4/zstd), verify (TLS certificate check, default true), ca_cert.

Needs a server that clickhouse-connect supports: it reads `system.settings.readonly` while
connecting, so ClickHouse 18.x (Debian bookworm's package) is refused before any query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import clickhouse_connect
import structlog
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from argosy.kernel.errors import ArgosyError, ConfigurationError, Unavailable
from argosy.platform.tsdb._sql import TableRef, engine_error, quote_identifier
from argosy.platform.tsdb._types import native_writer, parse_type, prepare_columns, ticks_reader
from argosy.platform.tsdb.base import Column, QueryResult, TimeSeriesDB

__all__ = ["ClickHouseOptions", "ClickHouseTSDB", "parse_clickhouse_url"]

log = structlog.get_logger("argosy.tsdb")
SETTING = "ARGOSY_TSDB_URL"

# Raw ticks for timestamps (converted to ns by _types.ticks_reader); text for the types
# chdb's JSON gives as text, so both backends return the same Python values.
_READ_FORMATS = {"DateTime*": "int", "IPv*": "string", "FixedString": "string"}
_FLOAT_OPTIONS = ("connect_timeout", "send_receive_timeout")
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


@dataclass(frozen=True, slots=True)
class ClickHouseOptions:
    """Connection settings parsed from the URL; the password is kept out of repr."""

    host: str
    port: int
    username: str = "default"
    password: str = field(default="", repr=False)
    secure: bool = False
    database: str | None = None
    connect_timeout: float = 10.0
    send_receive_timeout: float = 300.0
    compress: bool | str = False
    verify: bool = True
    ca_cert: str | None = None

    def client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "secure": self.secure,
            "connect_timeout": self.connect_timeout,
            "send_receive_timeout": self.send_receive_timeout,
            "compress": self.compress,
            "query_limit": 0,
        }
        if self.secure:
            kwargs["verify"] = self.verify
            if self.ca_cert:
                kwargs["ca_cert"] = self.ca_cert
        return kwargs


def parse_clickhouse_url(url: str) -> ClickHouseOptions:
    """Parse `clickhouse[s]://user:pass@host:port/db?options`; raise ConfigurationError."""
    parts = urlsplit(url)
    if parts.scheme not in ("clickhouse", "clickhouses"):
        raise ConfigurationError(SETTING, f"not a clickhouse:// URL: scheme {parts.scheme!r}")
    secure = parts.scheme == "clickhouses"
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError as exc:
        raise ConfigurationError(SETTING, f"bad port: {exc}") from None
    if not parts.hostname:
        raise ConfigurationError(SETTING, "the URL names no host")
    path = parts.path.strip("/")
    if "/" in path:
        raise ConfigurationError(SETTING, f"the URL path must be one database name: {path!r}")
    options: dict[str, Any] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        options[key] = _option(key, value)
    return ClickHouseOptions(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        secure=secure,
        database=unquote(path) or None,
        **options,
    )


def _option(key: str, value: str) -> Any:
    if key in _FLOAT_OPTIONS:
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if seconds <= 0:
            raise ConfigurationError(SETTING, f"{key} must be a positive number of seconds")
        return seconds
    if key == "verify":
        if value.lower() not in _BOOL_WORDS:
            raise ConfigurationError(SETTING, f"verify must be true or false, not {value!r}")
        return _BOOL_WORDS[value.lower()]
    if key == "compress":
        if value.lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.lower()]
        if value in ("lz4", "zstd", "gzip", "br"):
            return value
        raise ConfigurationError(SETTING, "compress must be true, false, lz4, zstd, gzip or br")
    if key == "ca_cert":
        return value
    raise ConfigurationError(SETTING, f"unknown option {key!r} in the URL")


class _Verbatim:
    """A parameter already rendered by `_sql.render_param`.

    clickhouse-connect escapes `str` values itself; anything else it sends as `str(value)`,
    so wrapping the text keeps our rendering (the same one chdb gets) byte for byte.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


class ClickHouseTSDB(TimeSeriesDB):
    """A ClickHouse server; `database` defaults to the URL's path."""

    kind = "clickhouse"

    def __init__(self, url: str, *, database: str | None = None) -> None:
        self.options = parse_clickhouse_url(url)
        named = self.options.database
        if database and named and named != database:
            raise ConfigurationError(
                SETTING,
                f"the URL names database {named!r} but this service owns {database!r};"
                " drop the path from the URL",
            )
        if not (database or named):
            raise ConfigurationError(SETTING, "no database: give one in the URL path")
        super().__init__(database=database or named or "")
        self._client: Any = None

    def __repr__(self) -> str:
        o = self.options
        scheme = "clickhouses" if o.secure else "clickhouse"
        return f"ClickHouseTSDB('{scheme}://{o.username}@{o.host}:{o.port}/{self.database}')"

    async def _open_client(self) -> Any:
        """The client; a test may return another object with the same async methods."""
        return await clickhouse_connect.get_async_client(**self.options.client_kwargs())

    async def connect(self) -> None:
        if self._client is not None:
            return
        try:
            client = await self._open_client()
        except Exception as exc:
            raise _unavailable(self, exc) from None
        try:
            await _ensure_database(client, self.database)
        except Exception as exc:
            await client.close()
            raise _translate(self, exc) from None
        client.database = self.database
        self._client = client
        log.info("tsdb.connected", kind=self.kind, host=self.options.host, db=self.database)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def check(self) -> None:
        client = self._require()
        try:
            await client.command("SELECT 1")
        except Exception as exc:
            raise _unavailable(self, exc) from None

    async def _execute(self, sql: str, params: dict[str, str]) -> None:
        client = self._require()
        try:
            await client.command(sql, parameters=_wrap(params))
        except Exception as exc:
            raise _translate(self, exc) from None

    async def _select(self, sql: str, params: dict[str, str]) -> QueryResult:
        client = self._require()
        try:
            result = await client.query(sql, parameters=_wrap(params), query_formats=_READ_FORMATS)
        except Exception as exc:
            raise _translate(self, exc) from None
        columns = list(result.column_names)
        readers = [ticks_reader(parse_type(t.name)) for t in result.column_types]
        rows = [
            tuple(v if f is None else f(v) for f, v in zip(readers, row, strict=True))
            for row in result.result_rows
        ]
        return QueryResult(columns=columns, rows=rows)

    async def _insert_batch(
        self, table: TableRef, columns: list[Column], rows: Sequence[Sequence[Any]]
    ) -> None:
        client = self._require()
        data = prepare_columns([(c.name, c.type) for c in columns], rows, native_writer)
        try:
            await client.insert(
                table=table.name,
                database=table.database or self.database,
                data=data,
                column_names=[c.name for c in columns],
                column_type_names=[c.type_name for c in columns],
                column_oriented=True,
            )
        except Exception as exc:
            raise _translate(self, exc) from None

    def _require(self) -> Any:
        if self._client is None:
            raise Unavailable("clickhouse store is not connected", dependency="tsdb")
        return self._client


async def _ensure_database(client: Any, database: str) -> None:
    """CREATE DATABASE IF NOT EXISTS, tolerating users who may use but not create it."""
    db = quote_identifier(database)
    try:
        await client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    except DatabaseError:
        if await client.command(f"EXISTS DATABASE {db}") != 1:
            raise


def _wrap(params: dict[str, str]) -> dict[str, _Verbatim] | None:
    return {k: _Verbatim(v) for k, v in params.items()} or None


def _translate(store: ClickHouseTSDB, exc: Exception) -> ArgosyError:
    """Errors with a ClickHouse code came from the server; network failures have none."""
    if isinstance(exc, ArgosyError):
        return exc
    code = getattr(exc, "code", None)
    if isinstance(exc, OperationalError) and code is None:
        return _unavailable(store, exc)
    if isinstance(exc, DatabaseError):
        return engine_error(str(exc), code if isinstance(code, int) else None)
    return _unavailable(store, exc)


def _unavailable(store: ClickHouseTSDB, exc: Exception) -> Unavailable:
    return Unavailable(f"{store!r}: {type(exc).__name__}: {exc}", dependency="tsdb")
