"""Pick the time-series backend from its URL: chdb://[/abs/path], clickhouse[s]://..."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from argosy.kernel.errors import ConfigurationError
from argosy.platform.tsdb.base import TimeSeriesDB

__all__ = ["TSDB_SCHEMES", "chdb_path", "create_tsdb"]

TSDB_SCHEMES = ("chdb", "clickhouse", "clickhouses")
SETTING = "ARGOSY_TSDB_URL"


def create_tsdb(url: str, *, database: str, data_dir: Path) -> TimeSeriesDB:
    """The store for one service's `database`; not connected yet (call `connect`)."""
    scheme = urlsplit(url).scheme
    if scheme == "chdb":
        from argosy.platform.tsdb.chdb import ChdbTSDB

        return ChdbTSDB(chdb_path(url, data_dir), database)
    if scheme in ("clickhouse", "clickhouses"):
        from argosy.platform.tsdb.clickhouse import ClickHouseTSDB

        return ClickHouseTSDB(url, database=database)
    raise ConfigurationError(
        SETTING,
        f"unsupported scheme {scheme!r}; use chdb://, chdb:///abs/path, clickhouse://"
        " or clickhouses://",
    )


def chdb_path(url: str, data_dir: Path) -> Path:
    """`chdb://` -> <data_dir>/tsdb; `chdb:///abs/path` -> that path."""
    parts = urlsplit(url)
    if parts.netloc:
        raise ConfigurationError(
            SETTING, f"chdb URLs take an absolute path (chdb:///abs/path), not {parts.netloc!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(SETTING, "chdb URLs take no options")
    path = unquote(parts.path)
    if not path:
        return Path(data_dir) / "tsdb"
    if path == "/":
        raise ConfigurationError(SETTING, "chdb:/// needs a directory, not the filesystem root")
    return Path(path)
