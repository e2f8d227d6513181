"""Identifiers, parameter rendering and engine error mapping: no engine needed."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from clickhouse_connect.driver.binding import bind_query
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from argosy.kernel.errors import Invalid, Unavailable
from argosy.platform.tsdb._sql import (
    QueryError,
    TableRef,
    bind_params,
    datetime_to_ns,
    engine_error,
    quote_identifier,
    render_param,
    validate_identifier,
)
from argosy.platform.tsdb.clickhouse import ClickHouseTSDB, _translate, _Verbatim


@pytest.mark.parametrize("name", ["trades", "_x", "Bars_1m", "a" * 128])
def test_plain_identifiers_pass(name: str) -> None:
    assert validate_identifier(name) == name
    assert quote_identifier(name) == f"`{name}`"


@pytest.mark.parametrize(
    "name",
    ["", "1m_bars", "trades;", "tr ades", "a`b", "a.b", "naïve", "a-b", "a" * 129, "x\n", None],
)
def test_anything_else_is_invalid(name: Any) -> None:
    with pytest.raises(Invalid):
        validate_identifier(name, field="table")


def test_table_refs_may_be_qualified_once() -> None:
    assert TableRef.parse("trades").sql() == "`trades`"
    assert TableRef.parse("md.trades") == TableRef("trades", "md")
    assert TableRef.parse("md.trades").sql() == "`md`.`trades`"
    for bad in ("a.b.c", ".trades", "md.", "md.tr ades"):
        with pytest.raises(Invalid):
            TableRef.parse(bad)


@pytest.mark.parametrize(
    ("value", "top", "nested"),
    [
        (None, "\\N", "NULL"),
        (True, "1", "1"),
        (-42, "-42", "-42"),
        (0.1, "0.1", "0.1"),
        (float("nan"), "nan", "nan"),
        (Decimal("1E-18"), "0.000000000000000001", "0.000000000000000001"),
        (Decimal("-1.50"), "-1.50", "-1.50"),
        ("it's\\\t\n", "it's\\\\\\t\\n", "'it\\'s\\\\\\t\\n'"),
        (dt.date(2024, 2, 29), "2024-02-29", "'2024-02-29'"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "1704067200", "'1704067200'"),
        (
            dt.datetime(2024, 1, 1, 0, 0, 0, 500, tzinfo=dt.UTC),
            "1704067200.0005",
            "'1704067200.0005'",
        ),
        (
            uuid.UUID(int=1),
            "00000000-0000-0000-0000-000000000001",
            "'00000000-0000-0000-0000-000000000001'",
        ),
        (["a'", None, 1], "['a\\'', NULL, 1]", "['a\\'', NULL, 1]"),
        ((1, "x"), "(1, 'x')", "(1, 'x')"),
        ({"k": [Decimal("1.5")]}, "{'k': [1.5]}", "{'k': [1.5]}"),
    ],
)
def test_render_param(value: Any, top: str, nested: str) -> None:
    assert render_param(value) == top
    assert render_param(value, top=False) == nested


@pytest.mark.parametrize(
    "value",
    [dt.datetime(2024, 1, 1), Decimal("NaN"), Decimal("Infinity"), b"bytes", object(), {1, 2}],
)
def test_unbindable_values_are_invalid(value: Any) -> None:
    with pytest.raises(Invalid):
        render_param(value, field="p")


def test_bind_params_needs_each_name_as_a_server_placeholder() -> None:
    assert bind_params("SELECT 1", None) == {}
    sql = "SELECT * FROM t WHERE s = { sym :String} AND ts > {since:DateTime64(9)}"
    assert bind_params(sql, {"sym": "BTC", "since": 5}) == {"sym": "BTC", "since": "5"}
    with pytest.raises(Invalid, match="not used"):
        bind_params("SELECT %(sym)s", {"sym": "x' OR 1=1"})
    with pytest.raises(Invalid):
        bind_params("SELECT {a-b:String}", {"a-b": "x"})


def test_datetime_to_ns_is_exact() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert datetime_to_ns(dt.datetime(2024, 1, 1, 9, 0, 0, 1, tzinfo=tokyo)) == (
        1_704_067_200_000_001_000
    )
    assert datetime_to_ns(dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)) == -1000
    with pytest.raises(Invalid, match="naive"):
        datetime_to_ns(dt.datetime(2024, 1, 1))


def test_engine_errors_split_into_bugs_and_outages() -> None:
    err = engine_error("Code: 62. DB::Exception: Syntax error (SYNTAX_ERROR)")
    assert isinstance(err, QueryError)
    assert err.server_code == 62
    assert err.details == {"server_code": 62}
    assert isinstance(engine_error("Code: 241. Memory limit exceeded"), Unavailable)
    assert isinstance(engine_error("no code here"), QueryError)


def test_clickhouse_connect_errors_are_translated() -> None:
    store = ClickHouseTSDB("clickhouse://u:secret@h/db")
    network = _translate(store, OperationalError("Network Error: refused"))
    assert isinstance(network, Unavailable)
    assert "secret" not in str(network)
    assert isinstance(_translate(store, TimeoutError()), Unavailable)
    refused = _translate(store, DatabaseError("Code: 60. no table", code=60))
    assert isinstance(refused, QueryError)
    assert refused.server_code == 60
    assert isinstance(_translate(store, DatabaseError("busy", code=202)), Unavailable)


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        'it\'s \\ "q"\ttab\nline é',
        None,
        Decimal("1E-18"),
        ["a'b", "c\\d"],
        True,
        dt.datetime(2024, 1, 1, 0, 0, 0, 5, tzinfo=dt.UTC),
    ],
)
def test_clickhouse_connect_sends_our_rendering_unchanged(value: Any) -> None:
    """The server gets the same parameter text chdb gets: no second escaping."""
    rendered = bind_params("SELECT {v:String}", {"v": value})
    _, sent = bind_query("SELECT {v:String}", {"v": _Verbatim(rendered["v"])})
    assert sent == {"param_v": rendered["v"]}
