"""Which registered schema governs a namespace (`params/*` governs `params/grid-1`)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["best_pattern", "matches"]


def matches(pattern: str, namespace: str) -> bool:
    pp, parts = pattern.split("/"), namespace.split("/")
    return len(pp) == len(parts) and all(p in ("*", n) for p, n in zip(pp, parts, strict=True))


def best_pattern(patterns: Iterable[str], namespace: str) -> str | None:
    """The most specific matching pattern: an exact name beats any wildcard, then fewer '*'."""
    found = [p for p in patterns if matches(p, namespace)]
    if not found:
        return None
    return min(found, key=lambda p: (p.count("*"), p))
