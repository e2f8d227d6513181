"""JSON Schema checks (2020-12) that name the offending field, and RFC 6902 diffs."""

from __future__ import annotations

import re
from typing import Any

import jsonpatch
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from referencing.exceptions import Unresolvable

from argosy.kernel.errors import Invalid
from argosy.services.config.domain.secrets import schema_problem

__all__ = ["check_schema", "diff", "validate_document"]

# Our own annotation keywords (x-argosy-secret) are allowed inside schemas.
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
    # Refs must resolve here and now (the service never fetches remote schemas), and every
    # secret must sit where secrets.py can find it, or it would be stored in clear.
    problem = schema_problem(schema)
    if problem:
        raise Invalid(f"not usable as a config schema: {problem}", field=field)


def validate_document(schema: dict[str, Any], content: dict[str, Any]) -> None:
    """Raise Invalid naming the first failing field as `content.<path>`."""
    try:
        error = best_match(_Validator(schema).iter_errors(content))
    except Unresolvable as exc:  # schemas are checked at registration; belt and braces
        raise Invalid(f"the schema cannot be applied: {exc}", field="content") from None
    if error is None:
        return
    path = [str(p) for p in error.absolute_path]
    extra = _offending_key(error)
    field = ".".join(["content", *path, *([extra] if extra is not None else [])])
    raise Invalid(error.message, field=field)


def _offending_key(error: ValidationError) -> str | None:
    """The missing or unexpected key an object-level error is about, if any."""
    instance, schema = error.instance, error.schema
    if not isinstance(instance, dict) or not isinstance(schema, dict):
        return None
    if error.validator == "required":
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [r for r in required if r not in instance]
        return str(missing[0]) if missing else None
    if error.validator == "additionalProperties":
        known = set(schema.get("properties") or {})
        patterns = list(schema.get("patternProperties") or {})
        extra = sorted(k for k in instance
                       if k not in known and not any(re.search(p, k) for p in patterns))
        return extra[0] if extra else None
    return None


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = jsonpatch.make_patch(before, after).patch
    return ops
