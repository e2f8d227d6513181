"""Duplicate and out-of-order removal by venue id, and the gaps it reveals.

Binance ids are strictly increasing per symbol and stream kind (trade id `t`, aggTrade id
`a`, bookTicker update id `u`). After a reconnect, a planned connection rotation or a
replayed frame, the same id can arrive twice, or an older one late; consumers must see each
id once and in order. A jump forward is not an error but a gap (missed while disconnected)
that the caller may repair from REST.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

__all__ = ["IdSequencer", "Verdict", "VerdictKind"]

K = TypeVar("K")


class VerdictKind(StrEnum):
    FIRST = "first"  # first id seen for the key: nothing to compare with
    NEXT = "next"  # exactly last + 1
    GAP = "gap"  # ahead of last + 1: ids missing_from..missing_to were not seen
    DUPLICATE = "duplicate"  # equal to the last accepted id
    LATE = "late"  # older than the last accepted id


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    missing_from: int = 0
    missing_to: int = 0

    @property
    def accepted(self) -> bool:
        return self.kind in (VerdictKind.FIRST, VerdictKind.NEXT, VerdictKind.GAP)


_FIRST = Verdict(VerdictKind.FIRST)
_NEXT = Verdict(VerdictKind.NEXT)
_DUPLICATE = Verdict(VerdictKind.DUPLICATE)
_LATE = Verdict(VerdictKind.LATE)


class IdSequencer(Generic[K]):
    """Last accepted id per key; `check` decides, `accept` records (split for backfills)."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[K, int] = {}

    def last(self, key: K) -> int | None:
        return self._last.get(key)

    def check(self, key: K, ident: int) -> Verdict:
        last = self._last.get(key)
        if last is None:
            return _FIRST
        if ident == last + 1:
            return _NEXT
        if ident > last:
            return Verdict(VerdictKind.GAP, last + 1, ident - 1)
        return _DUPLICATE if ident == last else _LATE

    def accept(self, key: K, ident: int) -> None:
        self._last[key] = ident

    def offer(self, key: K, ident: int) -> Verdict:
        """`check` then `accept` when the id moves forward."""
        verdict = self.check(key, ident)
        if verdict.accepted:
            self._last[key] = ident
        return verdict
