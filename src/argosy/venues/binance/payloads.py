"""Binance payloads read strictly: depth diffs and snapshots, and the field readers.

Every reader raises `MalformedMessage(kind)` instead of KeyError/ValueError/InvalidOperation
so a connection loop can count and skip one bad frame by kind without a bare `except`.
Prices and sizes are parsed straight from the wire strings into Decimal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from argosy.venues.book import Level

__all__ = [
    "DepthDiff",
    "DepthSnapshot",
    "MalformedMessage",
    "decimal_field",
    "int_field",
    "parse_depth_diff",
    "parse_depth_snapshot",
    "str_field",
]


class MalformedMessage(Exception):
    """A frame that does not have the shape Binance documents; `kind` groups the count."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def int_field(data: Mapping[str, Any], key: str, kind: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedMessage(kind, f"{key} must be an int, got {value!r:.40}")
    return value


def str_field(data: Mapping[str, Any], key: str, kind: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedMessage(kind, f"{key} must be a non-empty string, got {value!r:.40}")
    return value


def decimal_field(data: Mapping[str, Any], key: str, kind: str) -> Decimal:
    return _decimal(data.get(key), key, kind)


def _decimal(value: object, key: str, kind: str) -> Decimal:
    if not isinstance(value, str):
        raise MalformedMessage(kind, f"{key} must be a decimal string, got {value!r:.40}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MalformedMessage(kind, f"{key} is not a decimal: {value!r:.40}") from None
    if not number.is_finite() or number < 0:
        raise MalformedMessage(kind, f"{key} must be finite and >= 0: {value!r:.40}")
    return number


def _levels(raw: object, key: str, kind: str) -> list[Level]:
    if not isinstance(raw, list):
        raise MalformedMessage(kind, f"{key} must be a list of [price, qty]")
    levels: list[Level] = []
    for entry in raw:
        if not isinstance(entry, list) or len(entry) < 2:
            raise MalformedMessage(kind, f"{key} entry must be [price, qty], got {entry!r:.40}")
        levels.append((_decimal(entry[0], key, kind), _decimal(entry[1], key, kind)))
    return levels


@dataclass(frozen=True, slots=True)
class DepthDiff:
    """One `depthUpdate` event: levels changed by updates first_id..final_id."""

    symbol: str
    first_id: int  # U
    final_id: int  # u
    prev_final_id: int | None  # pu (futures only)
    event_time_ms: int  # E
    bids: list[Level]
    asks: list[Level]


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """A REST `/depth` answer."""

    last_update_id: int
    bids: list[Level]
    asks: list[Level]


def parse_depth_diff(data: Mapping[str, Any]) -> DepthDiff:
    kind = "depthUpdate"
    pu = data.get("pu")
    if pu is not None and (isinstance(pu, bool) or not isinstance(pu, int)):
        raise MalformedMessage(kind, f"pu must be an int, got {pu!r:.40}")
    diff = DepthDiff(
        symbol=str_field(data, "s", kind),
        first_id=int_field(data, "U", kind),
        final_id=int_field(data, "u", kind),
        prev_final_id=pu,
        event_time_ms=int_field(data, "E", kind),
        bids=_levels(data.get("b"), "b", kind),
        asks=_levels(data.get("a"), "a", kind),
    )
    if diff.first_id > diff.final_id:
        raise MalformedMessage(kind, f"U {diff.first_id} is after u {diff.final_id}")
    return diff


def parse_depth_snapshot(data: Mapping[str, Any]) -> DepthSnapshot:
    kind = "depthSnapshot"
    return DepthSnapshot(
        last_update_id=int_field(data, "lastUpdateId", kind),
        bids=_levels(data.get("bids"), "bids", kind),
        asks=_levels(data.get("asks"), "asks", kind),
    )
