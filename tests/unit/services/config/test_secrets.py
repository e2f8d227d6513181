"""Where secrets are in a document, judged from its schema; masking; the schema checks."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from argosy.contracts.v1.config import MASK
from argosy.services.config.domain.secrets import (
    escape,
    get_at,
    map_secrets,
    mask,
    resolve_ref,
    schema_problem,
    secret_pointers,
    set_at,
    unescape,
)

SECRET = {"type": "string", "x-argosy-secret": True}


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def test_plain_nested_properties() -> None:
    schema = obj(smtp=obj(host={"type": "string"}, password=SECRET), token=SECRET)
    doc = {"smtp": {"host": "mail", "password": "p"}, "token": "t", "other": 1}
    assert secret_pointers(schema, doc) == ["/smtp/password", "/token"]


def test_only_present_non_null_values_count() -> None:
    schema = obj(smtp=obj(password=SECRET), token=SECRET, key=SECRET)
    assert secret_pointers(schema, {"smtp": {}, "token": None}) == []
    assert secret_pointers(schema, {"key": "k"}) == ["/key"]


def test_through_ref_and_defs() -> None:
    schema = {
        "type": "object",
        "$defs": {"Creds": obj(user={"type": "string"}, secret=SECRET)},
        "definitions": {"Legacy": obj(pin=SECRET)},
        "properties": {
            "binance": {"$ref": "#/$defs/Creds"},
            "old": {"$ref": "#/definitions/Legacy"},
        },
    }
    doc = {"binance": {"user": "u", "secret": "s"}, "old": {"pin": "1234"}}
    assert secret_pointers(schema, doc) == ["/binance/secret", "/old/pin"]


def test_ref_to_a_name_that_needs_escaping() -> None:
    schema = {
        "type": "object",
        "$defs": {"a/b~c": SECRET},
        "properties": {"k": {"$ref": "#/$defs/a~1b~0c"}},
    }
    assert secret_pointers(schema, {"k": "v"}) == ["/k"]


def test_through_allof_anyof_oneof_and_conditionals() -> None:
    schema = {
        "type": "object",
        "allOf": [obj(a=SECRET)],
        "anyOf": [obj(b=SECRET), obj(c={"type": "string"})],
        "oneOf": [obj(d=SECRET)],
        "if": obj(e={"const": 1}),
        "then": obj(f=SECRET),
        "dependentSchemas": {"g": obj(h=SECRET)},
    }
    doc = {"a": "1", "b": "2", "c": "3", "d": "4", "f": "5", "h": "6"}
    assert sorted(secret_pointers(schema, doc)) == ["/a", "/b", "/d", "/f"]
    assert "/h" in secret_pointers(schema, {**doc, "g": 1})


def test_array_items_and_prefix_items() -> None:
    schema = obj(
        hooks={"type": "array", "items": obj(url={"type": "string"}, token=SECRET)},
        pair={"type": "array", "prefixItems": [{"type": "string"}, SECRET]},
        keys={"type": "array", "items": SECRET},
    )
    doc = {
        "hooks": [{"url": "a", "token": "x"}, {"url": "b"}, {"url": "c", "token": "z"}],
        "pair": ["public", "private"],
        "keys": ["k0", "k1"],
    }
    assert secret_pointers(schema, doc) == [
        "/hooks/0/token", "/hooks/2/token", "/pair/1", "/keys/0", "/keys/1",
    ]


def test_map_values_via_additional_properties_spare_declared_siblings() -> None:
    schema = {
        "type": "object",
        "properties": {"count": {"type": "integer"}},
        "additionalProperties": SECRET,
    }
    # a declared property is not one of the map's values, so it is not a secret
    assert secret_pointers(schema, {"count": 3, "alpha": "a", "beta": "b"}) == [
        "/alpha", "/beta",
    ]


def test_map_values_via_pattern_properties() -> None:
    schema = {
        "type": "object",
        "patternProperties": {"^key_": SECRET, "^n_": {"type": "integer"}},
        "additionalProperties": {"type": "string"},
    }
    doc = {"key_a": "s", "n_1": 1, "label": "x"}
    assert secret_pointers(schema, doc) == ["/key_a"]


def test_map_of_objects_with_secret_fields() -> None:
    schema = obj(accounts={"type": "object", "additionalProperties": obj(api_secret=SECRET)})
    doc = {"accounts": {"main": {"api_secret": "m"}, "sub/1": {"api_secret": "s"}}}
    assert secret_pointers(schema, doc) == [
        "/accounts/main/api_secret", "/accounts/sub~11/api_secret",
    ]


@pytest.mark.parametrize(
    ("key", "pointer"),
    [("a/b", "/a~1b"), ("a~b", "/a~0b"), ("~1", "/~01"), ("/~", "/~1~0")],
)
def test_keys_with_slash_and_tilde_are_escaped(key: str, pointer: str) -> None:
    schema = {"type": "object", "additionalProperties": SECRET}
    assert secret_pointers(schema, {key: "v"}) == [pointer]
    assert get_at({key: "v"}, pointer) == "v"
    assert unescape(escape(key)) == key


def test_recursive_schema_costs_what_the_document_costs() -> None:
    node = obj(a={"$ref": "#/$defs/n"}, b={"$ref": "#/$defs/n"},
               c={"$ref": "#/$defs/n"}, k=SECRET)
    schema = {"type": "object", "$defs": {"n": node}, "$ref": "#/$defs/n"}
    doc: dict[str, Any] = {"k": "top"}
    inner = doc
    for _ in range(40):  # deeper than any fixed recursion limit would reach
        inner["a"] = {"k": "x"}
        inner = inner["a"]
    started = time.perf_counter()
    found = secret_pointers(schema, doc)
    assert time.perf_counter() - started < 1.0
    assert len(found) == 41
    assert found[-1] == "/a" * 40 + "/k"


def test_self_reference_at_the_same_place_terminates() -> None:
    schema = {"type": "object", "allOf": [{"$ref": "#"}], "properties": {"s": SECRET}}
    assert secret_pointers(schema, {"s": "v"}) == ["/s"]


def test_mask_replaces_only_secrets_and_leaves_input_alone() -> None:
    schema = obj(smtp=obj(password=SECRET), hooks={"type": "array", "items": obj(t=SECRET)})
    doc = {"smtp": {"password": "p", "host": "h"}, "hooks": [{"t": "x"}], "n": None}
    before = copy.deepcopy(doc)
    assert mask(doc, schema) == {
        "smtp": {"password": MASK, "host": "h"}, "hooks": [{"t": MASK}], "n": None,
    }
    assert doc == before


def test_map_secrets_passes_pointer_and_value() -> None:
    schema = obj(a=SECRET, b=obj(c=SECRET))
    seen: list[tuple[str, Any]] = []

    def fn(pointer: str, value: Any) -> str:
        seen.append((pointer, value))
        return str(value).upper()

    assert map_secrets({"a": "x", "b": {"c": "y"}}, schema, fn) == {"a": "X", "b": {"c": "Y"}}
    assert seen == [("/a", "x"), ("/b/c", "y")]


def test_get_and_set_at_through_lists() -> None:
    doc: dict[str, Any] = {"l": [{"a~b": 1}]}
    set_at(doc, "/l/0/a~0b", 2)
    assert get_at(doc, "/l/0/a~0b") == 2
    assert doc == {"l": [{"a~b": 2}]}


def test_resolve_ref() -> None:
    schema = {"$defs": {"x y": {"type": "integer"}, "l": [{"a": 1}]}}
    assert resolve_ref(schema, "#") is schema
    assert resolve_ref(schema, "#/$defs/x%20y") == {"type": "integer"}
    assert resolve_ref(schema, "#/$defs/l/0") == {"a": 1}
    assert resolve_ref(schema, "#/$defs/missing") is None
    assert resolve_ref(schema, "other.json#/x") is None


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        (obj(a={"not": SECRET}), "under 'not'"),
        (obj(a={"type": "array", "contains": SECRET}), "under 'contains'"),
        ({"type": "object", "unevaluatedProperties": SECRET}, "under 'unevaluatedProperties'"),
        (obj(a={"$ref": "#/$defs/missing"}), "does not resolve"),
        (obj(a={"$ref": "https://example.com/s.json"}), "does not resolve"),
        (obj(a={"$dynamicRef": "#x"}), "$dynamicRef"),
        (obj(a={"$id": "https://example.com/a", "type": "string"}), "$id"),
    ],
)
def test_schema_problem_names_what_cannot_be_honoured(schema: dict[str, Any], words: str) -> None:
    problem = schema_problem(schema)
    assert problem is not None
    assert words in problem


def test_schema_problem_accepts_usual_schemas() -> None:
    schema = {
        "$id": "https://argosy/settings",  # allowed at the root
        "type": "object",
        "$defs": {"Creds": obj(secret=SECRET)},
        "properties": {
            "creds": {"$ref": "#/$defs/Creds"},
            "maps": {"type": "object", "patternProperties": {"^k": SECRET}},
            "list": {"type": "array", "prefixItems": [SECRET], "items": SECRET},
            "choice": {"anyOf": [SECRET, {"type": "null"}]},
            "tree": {"$ref": "#"},
            "names": {"type": "array", "contains": {"type": "string"}},
        },
    }
    assert schema_problem(schema) is None
