"""The platform's public routes as the gateway's aggregated /openapi.json describes them,
for tests generated over every route: which take an object id, what a valid body for
each looks like, whose objects they are.

Generating from the live document is the point: a route a service adds later joins the
tenancy matrix and the privileged-field checks without anyone editing those tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BODY_METHODS", "PLATFORM_SERVICES", "Operation", "example", "operations", "properties"]

BODY_METHODS = ("post", "put", "patch")
_METHODS = ("get", "post", "put", "patch", "delete")
#: services whose objects belong to the platform, not to a tenant: their ids are not
#: another organisation's secrets (market data is public, configuration is operators')
PLATFORM_SERVICES = frozenset({"config", "market-data"})
#: values that make a body valid where a made-up string would not
_STRINGS = {"role": "viewer", "action": "start_review", "kind": "paper", "name": "example",
            "email": "example@example.com", "api_key": "AKEXAMPLEKEY0001",
            "api_secret": "example-secret-value"}


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # the template, e.g. /api/v1/accounts/{account_id}
    service: str
    params: tuple[str, ...]  # path parameters, in order
    body: dict[str, Any] | None  # the JSON request body schema, when there is one
    multipart: bool

    def url(self, values: Mapping[str, str]) -> str:
        out = self.path
        for name in self.params:
            out = out.replace(f"{{{name}}}", values[name])
        return out


def operations(document: Mapping[str, Any]) -> Iterator[Operation]:
    for path, item in sorted(document["paths"].items()):
        for method in _METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = tuple(p["name"] for p in op.get("parameters", []) if p.get("in") == "path")
            content = (op.get("requestBody") or {}).get("content") or {}
            body = content.get("application/json", {}).get("schema")
            yield Operation(method.upper(), path, op.get("x-argosy-service", "?"), params,
                            body, "multipart/form-data" in content)


def _resolve(schema: Mapping[str, Any], document: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        _, _, kind, name = schema["$ref"].split("/", 3)
        schema = document["components"][kind][name]
    return schema


def example(schema: Mapping[str, Any], document: Mapping[str, Any], name: str = "") -> Any:
    """The smallest value the schema accepts: required properties only, first enum
    member, known-good strings for fields whose format a service checks."""
    schema = _resolve(schema, document)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s, document).get("type") != "null"]
            return example(options[0], document, name)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: example(props[k], document, k) for k in schema.get("required", [])}
    if kind == "array":
        return [example(schema["items"], document, name)] if schema.get("minItems") else []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return max(1.0, float(schema.get("minimum", 1)))
    if kind == "boolean":
        return False
    return _STRINGS.get(name, "example")


def properties(schema: Mapping[str, Any], document: Mapping[str, Any]) -> set[str]:
    return set(_resolve(schema, document).get("properties", {}))
