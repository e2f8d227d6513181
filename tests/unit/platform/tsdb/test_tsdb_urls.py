"""ARGOSY_TSDB_URL: which backend, where, and how a bad URL is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from argosy.kernel.errors import ConfigurationError, Invalid
from argosy.platform.tsdb import create_tsdb
from argosy.platform.tsdb.chdb import ChdbTSDB
from argosy.platform.tsdb.clickhouse import (
    ClickHouseOptions,
    ClickHouseTSDB,
    parse_clickhouse_url,
)
from argosy.platform.tsdb.factory import chdb_path

DATA = Path("/var/lib/argosy")


def test_chdb_defaults_under_the_data_dir() -> None:
    store = create_tsdb("chdb://", database="market_data", data_dir=DATA)
    assert isinstance(store, ChdbTSDB)
    assert store.path == DATA / "tsdb"
    assert store.database == "market_data"
    assert store.kind == "chdb"
    assert chdb_path("chdb:", DATA) == DATA / "tsdb"


def test_chdb_takes_an_absolute_path() -> None:
    assert chdb_path("chdb:///srv/tsdb", DATA) == Path("/srv/tsdb")
    assert chdb_path("chdb:///srv/my%20data", DATA) == Path("/srv/my data")
    for bad in ("chdb://relative/path", "chdb:///", "chdb:///x?opt=1"):
        with pytest.raises(ConfigurationError) as err:
            chdb_path(bad, DATA)
        assert err.value.setting == "ARGOSY_TSDB_URL"


@pytest.mark.parametrize("url", ["postgres://h/db", "memory://", "clickhouse+http://h", ""])
def test_unknown_schemes_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="ARGOSY_TSDB_URL: unsupported scheme"):
        create_tsdb(url, database="x", data_dir=DATA)


def test_the_database_name_is_an_identifier() -> None:
    with pytest.raises(Invalid):
        create_tsdb("chdb://", database="market-data", data_dir=DATA)


def test_clickhouse_url_with_defaults() -> None:
    assert parse_clickhouse_url("clickhouse://ch.internal") == ClickHouseOptions(
        host="ch.internal", port=8123
    )
    tls = parse_clickhouse_url("clickhouses://ch.internal/md")
    assert (tls.port, tls.secure, tls.database) == (8443, True, "md")


def test_clickhouse_url_with_credentials_and_options() -> None:
    opts = parse_clickhouse_url(
        "clickhouses://ana%40desk:p%3Ass%2Fw@[::1]:9443/md?connect_timeout=2.5"
        "&send_receive_timeout=60&compress=zstd&verify=false&ca_cert=/etc/ca.pem"
    )
    assert (opts.username, opts.password, opts.host, opts.port) == (
        "ana@desk",
        "p:ss/w",
        "::1",
        9443,
    )
    assert (opts.connect_timeout, opts.send_receive_timeout) == (2.5, 60.0)
    assert (opts.compress, opts.verify, opts.ca_cert) == ("zstd", False, "/etc/ca.pem")
    kwargs = opts.client_kwargs()
    assert kwargs["secure"] is True
    assert kwargs["verify"] is False
    assert kwargs["query_limit"] == 0
    assert "p:ss/w" not in repr(opts)


def test_plain_http_sends_no_tls_options() -> None:
    kwargs = parse_clickhouse_url("clickhouse://h?compress=true").client_kwargs()
    assert kwargs["compress"] is True
    assert "verify" not in kwargs
    assert "ca_cert" not in kwargs


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("clickhouse://", "no host"),
        ("clickhouse://h:notaport", "bad port"),
        ("clickhouse://h/a/b", "one database"),
        ("clickhouse://h?connect_timeout=0", "positive"),
        ("clickhouse://h?connect_timeout=soon", "positive"),
        ("clickhouse://h?verify=maybe", "verify"),
        ("clickhouse://h?compress=snappy", "compress"),
        ("clickhouse://h?password=x", "unknown option"),
        ("http://h", "not a clickhouse"),
    ],
)
def test_bad_clickhouse_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_clickhouse_url(url)


def test_the_service_database_and_the_url_path() -> None:
    store = create_tsdb("clickhouse://u:pw@h", database="trading", data_dir=DATA)
    assert isinstance(store, ClickHouseTSDB)
    assert store.database == "trading"
    assert store.kind == "clickhouse"
    assert ClickHouseTSDB("clickhouse://h/trading").database == "trading"
    assert create_tsdb("clickhouse://h/trading", database="trading", data_dir=DATA)
    with pytest.raises(ConfigurationError, match="owns 'trading'"):
        create_tsdb("clickhouse://h/other", database="trading", data_dir=DATA)
    with pytest.raises(ConfigurationError, match="no database"):
        ClickHouseTSDB("clickhouse://h")
    with pytest.raises(Invalid):
        ClickHouseTSDB("clickhouse://h/bad-name")


def test_repr_never_shows_the_password() -> None:
    store = ClickHouseTSDB("clickhouses://ana:hunter2@h:9443/md")
    assert repr(store) == "ClickHouseTSDB('clickhouses://ana@h:9443/md')"
    assert "hunter2" not in repr(store.options)
