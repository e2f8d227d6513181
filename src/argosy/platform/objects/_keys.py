"""Rules for object keys, scopes, content types and metadata, shared by every store.

Why strict: a key must name the same object on a laptop's disk and in S3, and no key may
name a path outside its store. Metadata follows S3's limits so that what works on the
local store also works in production.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from argosy.kernel.errors import Invalid

__all__ = [
    "MAX_KEY_BYTES",
    "validate_content_type",
    "validate_key",
    "validate_list_prefix",
    "validate_metadata",
    "validate_scope",
]

MAX_KEY_BYTES = 1024  # S3's limit on a whole key
MAX_METADATA_BYTES = 2048  # S3's limit on user metadata, names plus values
_META_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
_CONTENT_TYPE = re.compile(r"[!-~][ -~]{0,254}")


def _problem(key: object, *, partial_last: bool = False) -> str | None:
    """Why `key` is not a valid relative key, or None. A partial last segment may be anything."""
    if not isinstance(key, str):
        return "must be a string"
    if not key:
        return "must not be empty"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if size > MAX_KEY_BYTES:
        return f"is longer than {MAX_KEY_BYTES} bytes"
    if key.startswith("/"):
        return "must be relative (no leading '/')"
    if "\\" in key:
        return "must not contain backslashes"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in key):
        return "must not contain control characters"
    segments = key.split("/")
    if partial_last:
        segments = segments[:-1]
    for seg in segments:
        if seg in ("", ".", ".."):
            return "must not contain empty, '.' or '..' segments"
    return None


def validate_key(key: str) -> str:
    """A key relative to the store's scope: `reports/2024/run-7.json`."""
    problem = _problem(key)
    if problem is not None:
        raise Invalid(f"object key {key!r} {problem}", field="key")
    return key


def validate_list_prefix(prefix: str) -> str:
    """A listing prefix: empty, a directory such as `reports/`, or any key beginning."""
    if prefix == "":
        return prefix
    problem = _problem(prefix, partial_last=True)
    if problem is not None:
        raise Invalid(f"object prefix {prefix!r} {problem}", field="prefix")
    return prefix


def validate_scope(scope: str) -> str:
    """The prefix a store is confined to (a service name); a programming error if bad."""
    problem = _problem(scope)
    if problem is not None:
        raise ValueError(f"object store prefix {scope!r} {problem}")
    return scope


def validate_content_type(content_type: str) -> str:
    if not isinstance(content_type, str) or not _CONTENT_TYPE.fullmatch(content_type):
        raise Invalid(
            f"content type {content_type!r} must be 1-255 printable ASCII characters",
            field="content_type",
        )
    return content_type


def validate_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Lower-cased names (S3 lower-cases them), printable ASCII values, 2 KiB in all."""
    if not metadata:
        return {}
    out: dict[str, str] = {}
    for name, value in metadata.items():
        low = name.lower() if isinstance(name, str) else name
        if not isinstance(low, str) or not _META_NAME.fullmatch(low):
            raise Invalid(
                f"metadata name {name!r} must be letters, digits and '-'", field="metadata"
            )
        if low in out:
            raise Invalid(f"metadata name {name!r} given twice (names ignore case)",
                          field="metadata")
        if not isinstance(value, str) or any(not " " <= c <= "~" for c in value):
            raise Invalid(f"metadata {name!r} must be printable ASCII", field="metadata")
        if not value or value != value.strip(" "):
            # HTTP trims header values and S3 drops empty ones: refuse what would not survive.
            raise Invalid(f"metadata {name!r} must be non-empty with no outer spaces",
                          field="metadata")
        out[low] = value
    if sum(len(k) + len(v) for k, v in out.items()) > MAX_METADATA_BYTES:
        raise Invalid(f"metadata is larger than {MAX_METADATA_BYTES} bytes", field="metadata")
    return out
