"""One OpenAPI document for the whole platform, as a client sees it through the gateway.

Why merge here instead of pointing at nine documents: a client only ever talks to the
gateway, so the contract it needs is the set of paths the route table actually sends to
each service, under one server, with the gateway's authentication schemes. Each service's
components are namespaced (`trading.Order`) and their `$ref`s rewritten, because two
services are free to both call a schema `Order`. Operations keep their own tags and get a
service tag when they have none.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["merge_openapi"]

_REF = "#/components/"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "Access token from POST /api/v1/auth/login (EdDSA JWT).",
    },
    "apiKey": {
        "type": "apiKey", "in": "header", "name": "x-argosy-key",
        "description": "Programs: key id plus x-argosy-timestamp, x-argosy-nonce and "
                       "x-argosy-signature (HMAC-SHA256 of the canonical request).",
    },
}


def _rename_refs(node: Any, service: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
                kind, _, name = value[len(_REF):].partition("/")
                out[key] = f"{_REF}{kind}/{service}.{name}"
            else:
                out[key] = _rename_refs(value, service)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, service) for v in node]
    return node


def merge_openapi(
    documents: Mapping[str, Mapping[str, Any] | None],
    *,
    owner: Callable[[str], str | None],
    public: Callable[[str], bool],
    title: str,
    version: str,
    description: str = "",
) -> dict[str, Any]:
    """`documents`: service → its /openapi.json (None when it could not be fetched).

    `owner(path)` is the service the route table sends `path` to; only those paths are
    kept. `public(path)` says whether the route needs no credentials.
    """
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {"securitySchemes": copy.deepcopy(_SECURITY_SCHEMES)},
        "tags": [],
    }
    missing = sorted(name for name, doc in documents.items() if doc is None)
    for service in sorted(documents):
        doc = documents[service]
        if doc is None:
            continue
        doc = _rename_refs(copy.deepcopy(dict(doc)), service)
        kept = 0
        for path, item in (doc.get("paths") or {}).items():
            if owner(path) != service:
                continue
            merged["paths"][path] = _operations(item, service, public(path))
            kept += 1
        for kind, entries in (doc.get("components") or {}).items():
            if kind == "securitySchemes" or not isinstance(entries, dict):
                continue
            target = merged["components"].setdefault(kind, {})
            for name, value in entries.items():
                target[f"{service}.{name}"] = value
        if kept:
            merged["tags"].append({"name": service, "description": f"Served by {service}."})
    if missing:
        merged["info"]["x-argosy-unavailable"] = missing
        note = f"Not included (service unreachable): {', '.join(missing)}."
        merged["info"]["description"] = f"{description}\n\n{note}".strip()
    return merged


def _operations(item: Mapping[str, Any], service: str, public: bool) -> dict[str, Any]:
    out = dict(item)
    for method in _HTTP_METHODS:
        op = out.get(method)
        if not isinstance(op, dict):
            continue
        op = dict(op)
        op.setdefault("tags", [service])
        if "operationId" in op:
            op["operationId"] = f"{service}.{op['operationId']}"
        op["x-argosy-service"] = service
        op["security"] = [] if public else [{"bearer": []}, {"apiKey": []}]
        out[method] = op
    return out
