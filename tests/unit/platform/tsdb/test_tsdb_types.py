"""Type names and value conversion on both sides of the boundary: no engine needed."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from argosy.kernel.errors import Invalid
from argosy.platform.tsdb._types import (
    ChType,
    json_reader,
    json_writer,
    native_writer,
    parse_type,
    prepare_columns,
    ticks_reader,
)

NS = 1_704_067_200_123_456_789


def test_parse_type_handles_wrappers_quotes_and_named_tuples() -> None:
    assert parse_type("UInt64") == ChType("UInt64")
    assert parse_type("DateTime64(9, 'UTC')") == ChType("DateTime64", ("9", "'UTC'"))
    assert parse_type("DateTime64(9, 'UTC')").scale == 9
    assert parse_type("Nullable(Decimal(38, 18))").base() == ChType("Decimal", ("38", "18"))
    assert parse_type("LowCardinality(Nullable(String))").base() == ChType("String")
    assert parse_type("Enum8('a,b' = 1, 'c)' = 2)").args == ("'a,b' = 1", "'c)' = 2")
    tup = parse_type("Tuple(ts DateTime64(3), px Array(Decimal(9, 2)))")
    assert tup.inner == (
        ChType("DateTime64", ("3",)),
        ChType("Array", (), (ChType("Decimal", ("9", "2")),)),
    )
    assert parse_type("Map(String, Array(UInt8))").inner[1].name == "Array"


@pytest.mark.parametrize(
    ("type_name", "raw", "value"),
    [
        ("Decimal(38, 18)", "0.000000000000000001", Decimal("1E-18")),
        ("UInt64", "18446744073709551615", 2**64 - 1),
        ("Int128", "-170141183460469231731687303715884105728", -(2**127)),
        ("Float64", "nan", None),
        ("Float32", 1, 1.0),
        ("DateTime64(9, 'Asia/Tokyo')", "1704067200.123456789", NS),
        ("DateTime64(3)", "-1.500", -1_500_000_000),
        ("DateTime", "1704067200", 1_704_067_200_000_000_000),
        ("Nullable(DateTime64(9))", None, None),
        ("Date32", "2024-02-29", dt.date(2024, 2, 29)),
        ("UUID", "00000000-0000-0000-0000-000000000001", uuid.UUID(int=1)),
        ("Array(Nullable(Decimal(9, 2)))", ["1.50", None], [Decimal("1.50"), None]),
        ("Map(UInt16, Decimal(9, 2))", {"7": "2.5"}, {7: Decimal("2.5")}),
        ("Tuple(UInt64, String)", ["5", "x"], (5, "x")),
        ("String", "é", "é"),
    ],
)
def test_json_reader(type_name: str, raw: Any, value: Any) -> None:
    reader = json_reader(parse_type(type_name))
    got = raw if reader is None else reader(raw)
    if type_name == "Float64":
        assert got != got  # nan
    else:
        assert got == value
        assert type(got) is type(value)


def test_plain_json_types_need_no_reader() -> None:
    for name in ("String", "UInt32", "Bool", "LowCardinality(String)", "Array(Int32)"):
        assert json_reader(parse_type(name)) is None


def test_ticks_reader_scales_raw_ticks_to_nanoseconds() -> None:
    assert ticks_reader(parse_type("DateTime64(9)")) is not None
    assert ticks_reader(parse_type("DateTime64(3, 'UTC')"))(1_704_067_200_123) == (  # type: ignore[misc]
        1_704_067_200_123_000_000
    )
    arr = ticks_reader(parse_type("Array(Nullable(DateTime))"))
    assert arr is not None
    assert arr([1, None]) == [1_000_000_000, None]
    assert ticks_reader(parse_type("Decimal(38, 18)")) is None
    assert ticks_reader(parse_type("Tuple(String, UInt8)")) is None


@pytest.mark.parametrize(
    ("type_name", "value", "text", "native"),
    [
        ("Decimal(38, 18)", Decimal("1E-18"), "1E-18", Decimal("1E-18")),
        ("Decimal(38, 18)", 7, "7", Decimal(7)),
        ("Decimal(38, 18)", "1.25", "1.25", Decimal("1.25")),
        ("Nullable(Decimal(9, 2))", None, None, None),
        ("DateTime64(9)", NS, "1704067200.123456789", NS),
        ("DateTime64(3, 'UTC')", NS, "1704067200.123", 1_704_067_200_123),
        ("DateTime", NS, "1704067200", 1_704_067_200),
        (
            "DateTime64(6)",
            dt.datetime(2024, 1, 1, 0, 0, 0, 7, tzinfo=dt.UTC),
            "1704067200.000007",
            1_704_067_200_000_007,
        ),
        ("DateTime64(9)", -1, "-0.000000001", -1),
    ],
)
def test_writers(type_name: str, value: Any, text: Any, native: Any) -> None:
    t = parse_type(type_name)
    to_json, to_native = json_writer(t, "c"), native_writer(t, "c")
    assert to_json is not None
    assert to_native is not None
    assert to_json(value) == text
    assert to_native(value) == native


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("Decimal(38, 18)", 0.1),
        ("Decimal(38, 18)", "abc"),
        ("Decimal(38, 18)", Decimal("NaN")),
        ("Decimal(38, 18)", True),
        ("DateTime64(9)", dt.datetime(2024, 1, 1)),
        ("DateTime64(9)", "2024-01-01"),
        ("DateTime64(9)", 1.5),
    ],
)
def test_writers_refuse_inexact_values(type_name: str, value: Any) -> None:
    for writer in (json_writer, native_writer):
        convert = writer(parse_type(type_name), "c")
        assert convert is not None
        with pytest.raises(Invalid, match="column c"):
            convert(value)


def test_prepare_columns_transposes_and_checks_widths() -> None:
    targets = [("a", parse_type("UInt8")), ("p", parse_type("Decimal(9, 2)"))]
    assert prepare_columns(targets, [(1, Decimal("1.5")), (2, 3)], json_writer) == [
        [1, 2],
        ["1.5", "3"],
    ]
    with pytest.raises(Invalid, match="row 1 has 1 values"):
        prepare_columns(targets, [(1, 2), (1,)], json_writer)
