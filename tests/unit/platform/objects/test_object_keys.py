"""The key, prefix and metadata rules every object store applies before touching storage."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Invalid
from argosy.platform.objects._keys import (
    validate_content_type,
    validate_key,
    validate_list_prefix,
    validate_metadata,
    validate_scope,
)

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../secret",
    "a/../../b",
    "a/./b",
    ".",
    "..",
    "a//b",
    "a/",
    "a\\b",
    "..\\x",
    "nul\x00byte",
    "new\nline",
    "del\x7f",
    "c1\x85",
    "x" * 1025,
    "\ud800",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys(key: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_key(key)
    assert info.value.field == "key"


@pytest.mark.parametrize(
    "key", ["a", "a/b/c.json", "..hidden", "a/...", "über/naïve file.txt", "50%/x@y#z", ".env"]
)
def test_good_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b", "a/.", "a/..x", "rep"])
def test_good_list_prefixes(prefix: str) -> None:
    assert validate_list_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/", "/a", "../", "a//", "a/../b", "a\\"])
def test_bad_list_prefixes(prefix: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_list_prefix(prefix)
    assert info.value.field == "prefix"


def test_scope_errors_are_programming_errors() -> None:
    assert validate_scope("trading") == "trading"
    assert validate_scope("trading/reports") == "trading/reports"
    with pytest.raises(ValueError, match="prefix"):
        validate_scope("../users")
    with pytest.raises(ValueError, match="prefix"):
        validate_scope("")


def test_metadata_names_are_lower_cased() -> None:
    assert validate_metadata({"Run-Id": "7", "strategy": "ema cross"}) == {
        "run-id": "7",
        "strategy": "ema cross",
    }
    assert validate_metadata(None) == {}


@pytest.mark.parametrize(
    "metadata",
    [
        {"bad name": "x"},
        {"under_score": "x"},
        {"-lead": "x"},
        {"k": "naïve"},
        {"k": "line\nbreak"},
        {"A": "1", "a": "2"},
        {"k": "x" * 2048},
        {"k": 1},
        {"k": ""},
        {"k": " padded "},
    ],
)
def test_bad_metadata(metadata: dict[str, str]) -> None:
    with pytest.raises(Invalid) as info:
        validate_metadata(metadata)
    assert info.value.field == "metadata"


@pytest.mark.parametrize("content_type", ["", " text/plain", "text/plain\r\nX: y", "tëxt"])
def test_bad_content_types(content_type: str) -> None:
    with pytest.raises(Invalid) as info:
        validate_content_type(content_type)
    assert info.value.field == "content_type"
