"""Optuna storage shared by several processes or machines: Optuna's RDBStorage on PostgreSQL.

Every `argosy optimize --storage postgresql://host/db --study NAME` (on any machine) joins the
same study: RDBStorage numbers trials inside a database transaction, so numbers are unique
across machines, and each process's sampler sees every trial the others finished.

- URL: `postgresql://`, `postgres://`, `postgresql+psycopg://` and `postgresql+asyncpg://`
  (the platform's async spelling) all become `postgresql+psycopg://`: Optuna is synchronous
  and psycopg 3 is the synchronous driver installed. `sqlite:///file` is passed as it is.
- Schema: Optuna's tables (`studies`, `trials`, ..., and its own `alembic_version`) live in
  their own schema, `optuna` unless the URL says `?schema=name`, set as the connection's
  search_path, the way platform/db gives each service one schema, so they never mix with
  another owner's tables (or Alembic version table) in a shared database.
- First start: the schema and Optuna's tables are created under a PostgreSQL advisory lock,
  because two machines starting together would otherwise race in CREATE TABLE (which is not
  concurrency-safe in PostgreSQL) and in Optuna's version row.
- pool_pre_ping: a search lasts hours; a connection dropped by a database restart or an
  idle timeout is replaced instead of failing a tell().
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import optuna
import psycopg

from argosy.kernel.errors import Invalid

__all__ = ["DEFAULT_SCHEMA", "close_storage", "open_storage", "postgres_url"]

DEFAULT_SCHEMA = "optuna"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+asyncpg")


def postgres_url(url: str) -> tuple[str, str]:
    """(SQLAlchemy URL with the psycopg driver, schema) for a PostgreSQL storage URL; the
    `schema` query parameter is ours, not libpq's, so it is taken out of the URL."""
    parts = urlsplit(url)
    if parts.scheme not in _PG_SCHEMES:
        raise Invalid(f"not a PostgreSQL URL: {url!r}", field="storage")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), DEFAULT_SCHEMA)
    if not _SCHEMA.match(schema):
        raise Invalid(f"bad schema name {schema!r} (lowercase letters, digits, _)",
                      field="storage")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    clean = urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, rest, parts.fragment))
    return clean, schema


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"argosy:optuna:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _open_postgres(url: str) -> optuna.storages.RDBStorage:
    sa_url, schema = postgres_url(url)
    libpq_url = sa_url.replace("postgresql+psycopg://", "postgresql://", 1)
    engine_kwargs = {"pool_pre_ping": True, "pool_recycle": 3600,
                     "connect_args": {"options": f"-csearch_path={schema}"}}
    try:
        with psycopg.connect(libpq_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key(schema),))
            try:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                return optuna.storages.RDBStorage(sa_url, engine_kwargs=engine_kwargs)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(schema),))
    except psycopg.OperationalError as exc:
        raise Invalid(f"cannot reach the Optuna storage database: {exc}".strip(),
                      field="storage") from exc


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An Optuna RDBStorage for `url` (see the module docstring); close it with
    `close_storage` so a long-lived service does not keep idle connections."""
    scheme = url.split("://", 1)[0]
    if scheme in _PG_SCHEMES:
        return _open_postgres(url)
    if "://" not in url:
        raise Invalid(f"storage must be a URL, got {url!r}", field="storage")
    return optuna.storages.RDBStorage(url)


def close_storage(storage: optuna.storages.BaseStorage | None) -> None:
    """Give back the storage's pooled connections (RDBStorage keeps an engine open)."""
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.scoped_session.remove()
        storage.engine.dispose()
