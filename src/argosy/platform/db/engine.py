"""A service's own database: SQLite file (embedded default) or a PostgreSQL schema.

SQLite: a file per service, WAL, synchronous=FULL (a committed order survives a crash or a
power cut), and writes funnel through one connection that takes the write lock up front
(BEGIN IMMEDIATE), so concurrent use-cases queue instead of failing with SQLITE_BUSY.
PostgreSQL: each service owns one schema, set as the connection's search_path, so models and
migrations never name a schema.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import structlog
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from argosy.kernel.errors import ConfigurationError, Unavailable

__all__ = ["Database", "resolve_db_url"]

log = structlog.get_logger("argosy.db")

Kind = Literal["sqlite", "postgresql"]


def resolve_db_url(url: str, *, service: str, data_dir: Path) -> tuple[Kind, str]:
    """`sqlite://` → data_dir/db/<service>.sqlite3; `sqlite:///dir` → dir/<service>.sqlite3;
    a URL ending in .db/.sqlite/.sqlite3 is used as the exact file; postgresql → asyncpg."""
    parts = urlsplit(url)
    name = service.replace("-", "_")
    if parts.scheme == "sqlite" or parts.scheme.startswith("sqlite+"):
        raw = url.split("://", 1)[1]
        path = Path(raw[1:]) if raw.startswith("/") else Path(raw)
        if not raw:
            path = data_dir / "db" / f"{name}.sqlite3"
        elif path.suffix not in (".db", ".sqlite", ".sqlite3"):
            path = path / f"{name}.sqlite3"
        return "sqlite", f"sqlite+aiosqlite:///{path.expanduser().resolve()}"
    if parts.scheme in ("postgresql", "postgres") or parts.scheme.startswith("postgresql+"):
        return "postgresql", urlunsplit(("postgresql+asyncpg", *parts[1:]))
    raise ConfigurationError("ARGOSY_DB_URL", f"unsupported database URL scheme {parts.scheme!r}")


class Database:
    """Engines and session factories for one service; see the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        service: str,
        data_dir: Path,
        schema_prefix: str = "",
        echo: bool = False,
    ) -> None:
        self.service = service
        self.kind, self.url = resolve_db_url(url, service=service, data_dir=data_dir)
        self.schema: str | None = (
            f"{schema_prefix}{service.replace('-', '_')}" if self.kind == "postgresql" else None
        )
        self._echo = echo
        self._commit_hooks: list[Callable[[], None]] = []
        self._writer: AsyncEngine | None = None
        self._reader: AsyncEngine | None = None
        self._write_sessions: async_sessionmaker[AsyncSession] | None = None
        self._read_sessions: async_sessionmaker[AsyncSession] | None = None

    # -- lifecycle -------------------------------------------------------------------
    def _build(self) -> None:
        if self.kind == "sqlite":
            path = Path(self.url.split(":///", 1)[1])
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._writer = create_async_engine(
                self.url, echo=self._echo, pool_size=1, max_overflow=0, pool_timeout=60
            )
            self._reader = create_async_engine(self.url, echo=self._echo)
            _sqlite_pragmas(self._writer, immediate=True)
            _sqlite_pragmas(self._reader, immediate=False)
        else:
            args: dict[str, Any] = {"server_settings": {"search_path": str(self.schema)}}
            self._writer = create_async_engine(
                self.url, echo=self._echo, pool_pre_ping=True, connect_args=args,
                pool_size=10, max_overflow=10,
            )
            self._reader = self._writer
        self._write_sessions = async_sessionmaker(self._writer, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self._reader, expire_on_commit=False)

    async def connect(self, migrations: Path | None = None) -> None:
        """Open the database, create the schema and apply this service's migrations."""
        from argosy.platform.db.migrations import upgrade

        if self._writer is None:
            self._build()
        assert self._writer is not None
        try:
            async with self._writer.begin() as conn:
                if self.kind == "postgresql":
                    # Instances of one service start together: the lock comes first, because
                    # CREATE SCHEMA IF NOT EXISTS itself races (unique violation on
                    # pg_namespace) and so would two Alembic upgrades.
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": self._lock_key()}
                    )
                    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                if migrations is not None:
                    await conn.run_sync(upgrade, migrations, self.schema)
        except (OSError, ConnectionError) as exc:
            raise Unavailable(f"database unreachable: {exc}", dependency="db") from exc
        log.info("db.ready", kind=self.kind, schema=self.schema)

    def _lock_key(self) -> int:
        digest = hashlib.sha256(f"argosy:{self.schema}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    async def check(self) -> None:
        if self._reader is None:
            raise Unavailable("database not connected", dependency="db")
        try:
            async with self._reader.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise Unavailable(f"database check failed: {exc}", dependency="db") from exc

    async def close(self) -> None:
        for engine in {id(e): e for e in (self._writer, self._reader) if e}.values():
            await engine.dispose()
        self._writer = self._reader = None
        self._write_sessions = self._read_sessions = None

    # -- sessions --------------------------------------------------------------------
    def on_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` after any transaction that wrote to the outbox commits."""
        self._commit_hooks.append(hook)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The one way to write: commits on success, rolls back on any exception."""
        if self._write_sessions is None:
            raise Unavailable("database not ready", dependency="db")
        async with self._write_sessions() as session, session.begin():
            yield session
        if session.info.get("outbox"):
            for hook in self._commit_hooks:
                hook()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session (on SQLite it does not take the write lock)."""
        if self._read_sessions is None:
            raise Unavailable("database not ready", dependency="db")
        async with self._read_sessions() as session:
            yield session

    @property
    def engine(self) -> AsyncEngine:
        if self._writer is None:
            raise Unavailable("database not ready", dependency="db")
        return self._writer


def _sqlite_pragmas(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (pysqlite quirk)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
