"""Find the secret fields of a document from its JSON schema, and mask or swap them.

A secret is declared with `"x-argosy-secret": true` on a property's schema. Secret locations
are found by walking the document alongside its schema, not the schema alone: so a map's
declared properties are told apart from its additionalProperties and patternProperties, an
array's prefixItems from its items, and a recursive schema costs no more than the document
is big. Subschemas reached through local `$ref`, allOf/anyOf/oneOf, if/then/else and
dependentSchemas count too: a field that is secret in any branch is treated as secret.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

from argosy.contracts.v1.config import MASK, SECRET_KEYWORD

__all__ = [
    "MASK",
    "SECRET_KEYWORD",
    "escape",
    "get_at",
    "map_secrets",
    "mask",
    "resolve_ref",
    "schema_problem",
    "secret_pointers",
    "set_at",
    "unescape",
]

Schema = dict[str, Any]

_BRANCHES = ("allOf", "anyOf", "oneOf")
_CONDITIONALS = ("if", "then", "else")
# Where a secret cannot be told apart from its neighbours, so declaring one there is refused.
_UNSUPPORTED = ("not", "contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems")


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def resolve_ref(root: Schema, ref: str) -> Any:
    """The subschema a local `$ref` ("#" or "#/json/pointer") names, or None."""
    if ref == "#":
        return root
    if not ref.startswith("#/"):
        return None
    node: Any = root
    for raw in ref[2:].split("/"):
        token = unescape(unquote(raw))
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node


# -- locating secrets in a document ------------------------------------------------------
def secret_pointers(schema: Schema, doc: Any) -> list[str]:
    """JSON pointers of the secret values present (not null) in `doc`, in document order."""
    found: dict[str, None] = {}
    _visit(schema, schema, doc, "", found, set())
    return list(found)


def _visit(
    root: Schema, node: Any, value: Any, path: str, found: dict[str, None],
    seen: set[tuple[int, str]],
) -> None:
    if not isinstance(node, dict) or (id(node), path) in seen:
        return
    seen.add((id(node), path))
    if node.get(SECRET_KEYWORD) is True:
        if path and value is not None:
            found[path] = None
        return
    for sub in _same_place(root, node, value):
        _visit(root, sub, value, path, found, seen)
    for token, child, sub in _children(node, value):
        _visit(root, sub, child, f"{path}/{escape(token)}", found, seen)


def _same_place(root: Schema, node: Schema, value: Any) -> Iterator[Any]:
    """Subschemas that apply to the same value as `node` does."""
    ref = node.get("$ref")
    if isinstance(ref, str):
        yield resolve_ref(root, ref)
    for key in _BRANCHES:
        subs = node.get(key)
        if isinstance(subs, list):
            yield from subs
    for key in _CONDITIONALS:
        yield node.get(key)
    dependent = node.get("dependentSchemas")
    if isinstance(dependent, dict) and isinstance(value, dict):
        yield from (sub for name, sub in dependent.items() if name in value)


def _children(node: Schema, value: Any) -> Iterator[tuple[str, Any, Any]]:
    """(pointer token, child value, subschema) for each child the node's keywords govern."""
    if isinstance(value, dict):
        props = node.get("properties")
        props = props if isinstance(props, dict) else {}
        patterns = node.get("patternProperties")
        patterns = patterns if isinstance(patterns, dict) else {}
        extra = node.get("additionalProperties")
        for key, child in value.items():
            matched = False
            if key in props:
                matched = True
                yield key, child, props[key]
            for rx, sub in patterns.items():
                if _search(rx, key):
                    matched = True
                    yield key, child, sub
            if not matched and isinstance(extra, dict):
                yield key, child, extra
    elif isinstance(value, list):
        prefix = node.get("prefixItems")
        items = node.get("items")
        if isinstance(items, list):  # draft-07 tuple form
            prefix, items = items, node.get("additionalItems")
        prefix = prefix if isinstance(prefix, list) else []
        for i, child in enumerate(value):
            sub = prefix[i] if i < len(prefix) else items
            if isinstance(sub, dict):
                yield str(i), child, sub


def _search(rx: str, key: str) -> bool:
    try:
        return re.search(rx, key) is not None
    except re.error:
        return False


# -- checking a schema before it is accepted ---------------------------------------------
def schema_problem(schema: Schema) -> str | None:
    """Why secrets in this schema could not be found reliably, or None if they can."""
    return _problem(schema, schema, "", under=None, depth=0)


_SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_SUBSCHEMA_ONE = ("additionalProperties", "items", "additionalItems", "if", "then", "else",
                  *_UNSUPPORTED)
_SUBSCHEMA_LISTS = ("prefixItems", "items", *_BRANCHES)


def _problem(root: Any, node: Any, where: str, *, under: str | None, depth: int) -> str | None:
    if not isinstance(node, dict):
        return None
    if depth > 64:
        return f"schema nested too deeply at {where or '/'}"
    if node.get(SECRET_KEYWORD) is True and under is not None:
        return f"{SECRET_KEYWORD} is not supported under {under!r} (at {where or '/'})"
    if "$id" in node and node is not root:
        return f"$id is only allowed at the root (at {where})"
    for key in ("$dynamicRef", "$recursiveRef"):
        if key in node:
            return f"{key} is not supported (at {where or '/'})"
    ref = node.get("$ref")
    if ref is not None and (not isinstance(ref, str) or resolve_ref(root, ref) is None):
        return (f"$ref {ref!r} does not resolve inside this schema; only local '#/...' refs "
                f"are allowed (at {where or '/'})")
    subs: list[tuple[str, str, Any]] = []
    for key in _SUBSCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            subs += [(key, f"{where}/{key}/{escape(k)}", v) for k, v in node[key].items()]
    for key in _SUBSCHEMA_ONE:
        if isinstance(node.get(key), dict):
            subs.append((key, f"{where}/{key}", node[key]))
    for key in _SUBSCHEMA_LISTS:
        if isinstance(node.get(key), list):
            subs += [(key, f"{where}/{key}/{i}", v) for i, v in enumerate(node[key])]
    for key, at, sub in subs:
        inner = under or (key if key in _UNSUPPORTED else None)
        problem = _problem(root, sub, at, under=inner, depth=depth + 1)
        if problem:
            return problem
    return None


# -- reading and rewriting values --------------------------------------------------------
def get_at(doc: Any, pointer: str) -> Any:
    node = doc
    for tok in pointer.split("/")[1:]:
        key = unescape(tok)
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def set_at(doc: Any, pointer: str, value: Any) -> None:
    tokens = [unescape(t) for t in pointer.split("/")[1:]]
    node = doc
    for key in tokens[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(tokens[-1])] = value
    else:
        node[tokens[-1]] = value


def map_secrets(
    doc: dict[str, Any], schema: Schema, fn: Callable[[str, Any], Any]
) -> dict[str, Any]:
    """A copy of `doc` with each present secret value replaced by fn(pointer, value)."""
    out = copy.deepcopy(doc)
    for pointer in secret_pointers(schema, doc):
        set_at(out, pointer, fn(pointer, get_at(out, pointer)))
    return out


def mask(doc: dict[str, Any], schema: Schema) -> dict[str, Any]:
    return map_secrets(doc, schema, lambda _p, _v: MASK)
