"""JSON Schema checks (2020-12) that name the offending field, and RFC 6902 diffs."""

from __future__ import annotations

from typing import Any

import jsonpatch
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

from argosy.kernel.errors import Invalid

__all__ = ["check_schema", "diff", "validate_document"]

# Our own annotation keywords are allowed inside schemas.
_Validator = Draft202012Validator


def check_schema(schema: dict[str, Any], field: str) -> None:
    try:
        _Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise Invalid(f"not a valid JSON Schema: {exc.message}" + (f" at {where}" if where
                      else ""), field=field) from None
    if schema.get("type", "object") != "object":
        raise Invalid("a config document schema must describe an object", field=field)


def validate_document(schema: dict[str, Any], content: dict[str, Any]) -> None:
    """Raise Invalid naming the first failing field as `content.<path>`."""
    error = best_match(_Validator(schema).iter_errors(content))
    if error is None:
        return
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [r for r in error.validator_value if r not in error.instance]
        if missing:
            path = ".".join(filter(None, [path, str(missing[0])]))
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema or {}).get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            path = ".".join(filter(None, [path, extra[0]]))
    field = "content" + (f".{path}" if path else "")
    raise Invalid(error.message, field=field)


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = jsonpatch.make_patch(before, after).patch
    return ops
