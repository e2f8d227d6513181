"""Time-series store: ClickHouse SQL, embedded (chdb) or on a server (clickhouse-connect)."""

from argosy.platform.tsdb._sql import QueryError
from argosy.platform.tsdb.base import QueryResult, TimeSeriesDB
from argosy.platform.tsdb.factory import TSDB_SCHEMES, create_tsdb

__all__ = ["TSDB_SCHEMES", "QueryError", "QueryResult", "TimeSeriesDB", "create_tsdb"]
