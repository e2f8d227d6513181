"""Find the secret fields a JSON schema declares, and mask or swap them in a document.

A secret is declared with `"x-argosy-secret": true` on a property's schema. Locations are
JSON-pointer patterns where `*` stands for any array index or map key.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from argosy.contracts.v1.config import MASK, SECRET_KEYWORD

__all__ = [
    "MASK",
    "SECRET_KEYWORD",
    "concrete_pointers",
    "get_at",
    "map_secrets",
    "mask",
    "secret_patterns",
    "set_at",
]

_MAX_DEPTH = 32


def secret_patterns(schema: dict[str, Any]) -> list[str]:
    """All pointer patterns of secret fields, e.g. ['/smtp/password', '/hooks/*/token']."""
    out: set[str] = set()
    defs = {**schema.get("$defs", {}), **schema.get("definitions", {})}
    _walk(schema, "", defs, out, 0)
    return sorted(out)


def _walk(node: Any, path: str, defs: dict[str, Any], out: set[str], depth: int) -> None:
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return
    if node.get(SECRET_KEYWORD) is True:
        out.add(path or "/")
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")):
        _walk(defs.get(ref.rsplit("/", 1)[1]), path, defs, out, depth + 1)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key, []) or []:
            _walk(sub, path, defs, out, depth + 1)
    for name, sub in (node.get("properties") or {}).items():
        _walk(sub, f"{path}/{_escape(name)}", defs, out, depth + 1)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            _walk(node[key], f"{path}/*", defs, out, depth + 1)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def concrete_pointers(doc: Any, pattern: str) -> Iterator[str]:
    """Expand a pattern against a document: only locations that exist are yielded."""
    tokens = [_unescape(t) for t in pattern.split("/")[1:]] if pattern != "/" else []
    yield from _expand(doc, tokens, "")


def _expand(node: Any, tokens: list[str], path: str) -> Iterator[str]:
    if not tokens:
        yield path or "/"
        return
    head, rest = tokens[0], tokens[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else ([head] if head in node else [])
        for key in keys:
            yield from _expand(node[key], rest, f"{path}/{_escape(str(key))}")
    elif isinstance(node, list):
        indexes = range(len(node)) if head == "*" else ([int(head)] if head.isdigit() else [])
        for i in indexes:
            if i < len(node):
                yield from _expand(node[i], rest, f"{path}/{i}")


def get_at(doc: Any, pointer: str) -> Any:
    node = doc
    for tok in pointer.split("/")[1:]:
        key = _unescape(tok)
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def set_at(doc: Any, pointer: str, value: Any) -> None:
    tokens = [_unescape(t) for t in pointer.split("/")[1:]]
    node = doc
    for key in tokens[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(tokens[-1])] = value
    else:
        node[tokens[-1]] = value


def map_secrets(
    doc: dict[str, Any], patterns: list[str], fn: Callable[[str, Any], Any]
) -> dict[str, Any]:
    """A copy of `doc` with each present secret value replaced by fn(pointer, value)."""
    out = copy.deepcopy(doc)
    for pattern in patterns:
        for pointer in list(concrete_pointers(out, pattern)):
            if pointer == "/":
                continue
            value = get_at(out, pointer)
            if value is not None:
                set_at(out, pointer, fn(pointer, value))
    return out


def mask(doc: dict[str, Any], patterns: list[str]) -> dict[str, Any]:
    return map_secrets(doc, patterns, lambda _p, _v: MASK)
