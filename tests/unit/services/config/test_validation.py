"""Schema checks that name the offending field, and RFC 6902 diffs."""

from __future__ import annotations

from typing import Any

import jsonpatch
import pytest

from argosy.kernel.errors import Invalid
from argosy.services.config.validation import check_schema, diff, validate_document

LIMITS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limits": {
            "type": "object",
            "properties": {
                "max_qty": {"type": "number", "exclusiveMinimum": 0},
                "symbols": {"type": "array", "items": {"type": "string", "minLength": 3}},
                "venue": {"type": "object", "required": ["name"],
                          "properties": {"name": {"type": "string"}}},
            },
            "required": ["max_qty"],
            "additionalProperties": False,
        },
        "mode": {"enum": ["paper", "live"]},
    },
    "required": ["limits"],
}


def field_of(schema: dict[str, Any], content: dict[str, Any]) -> str | None:
    with pytest.raises(Invalid) as err:
        validate_document(schema, content)
    return err.value.field


def test_valid_document_passes() -> None:
    validate_document(LIMITS, {"limits": {"max_qty": 1.5, "symbols": ["BTCUSDT"]}})


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"limits": {"max_qty": "10"}}, "content.limits.max_qty"),
        ({"limits": {"max_qty": 0}}, "content.limits.max_qty"),
        ({"limits": {"max_qty": 1, "symbols": ["BTCUSDT", "X"]}}, "content.limits.symbols.1"),
        ({"limits": {"max_qty": 1}, "mode": "yolo"}, "content.mode"),
        ({"limits": []}, "content.limits"),
    ],
)
def test_nested_fields_are_named(content: dict[str, Any], field: str) -> None:
    assert field_of(LIMITS, content) == field


def test_missing_required_names_the_missing_key() -> None:
    assert field_of(LIMITS, {}) == "content.limits"
    assert field_of(LIMITS, {"limits": {}}) == "content.limits.max_qty"
    assert field_of(LIMITS, {"limits": {"max_qty": 1, "venue": {}}}) == "content.limits.venue.name"


def test_additional_property_names_the_unexpected_key() -> None:
    assert field_of(LIMITS, {"limits": {"max_qty": 1, "max_qtyy": 2}}) == "content.limits.max_qtyy"


def test_additional_property_ignores_keys_pattern_properties_allow() -> None:
    schema = {"type": "object", "properties": {"a": {}}, "patternProperties": {"^x_": {}},
              "additionalProperties": False}
    assert field_of(schema, {"a": 1, "x_1": 2, "zz": 3}) == "content.zz"


def test_message_says_what_is_wrong() -> None:
    with pytest.raises(Invalid) as err:
        validate_document(LIMITS, {"limits": {"max_qty": "ten"}})
    assert "'ten' is not of type 'number'" in err.value.message


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "nope"},
        {"type": "object", "properties": {"a": {"minimum": "zero"}}},
        {"type": "object", "required": "a"},
        {"type": "object", "patternProperties": {"[": {}}},
    ],
)
def test_invalid_json_schema_is_rejected_with_the_given_field(schema: dict[str, Any]) -> None:
    with pytest.raises(Invalid) as err:
        check_schema(schema, "namespaces.3.schema")
    assert err.value.field == "namespaces.3.schema"
    assert "not a valid JSON Schema" in err.value.message


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array"},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
        {"type": "object", "properties": {"a": {"not": {"x-argosy-secret": True}}}},
    ],
)
def test_schemas_a_config_document_cannot_use_are_rejected(schema: dict[str, Any]) -> None:
    with pytest.raises(Invalid) as err:
        check_schema(schema, "namespaces.0.schema")
    assert err.value.field == "namespaces.0.schema"


def test_good_schema_with_secret_annotation_is_accepted() -> None:
    check_schema({"type": "object", "properties": {"k": {"type": "string",
                                                         "x-argosy-secret": True}}}, "f")
    check_schema(LIMITS, "f")


def test_diff_is_an_rfc6902_patch() -> None:
    before = {"a": 1, "b": {"c": [1, 2]}, "gone": True}
    after = {"a": 2, "b": {"c": [1, 2, 3]}, "new": "x"}
    ops = diff(before, after)
    assert {op["op"] for op in ops} <= {"add", "remove", "replace", "move", "copy", "test"}
    assert all(op["path"].startswith("/") for op in ops)
    assert jsonpatch.apply_patch(before, ops) == after
    assert diff(after, after) == []
