"""The security audit log as a hash chain: each row commits to every row before it.

hash(n) = sha256(hash(n-1) + canonical JSON of row n's fields). Editing, deleting or
reordering any row breaks the link from that row on, and `verify` names the first row
whose stored hash or predecessor no longer matches. Canonical JSON (sorted keys, no
spaces, UTF-8) makes the bytes independent of the database that stored the row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GENESIS", "Break", "ChainRow", "ChainVerifier", "canonical", "link_hash", "verify_chain",
]

GENESIS = "0" * 64


def canonical(fields: Mapping[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def link_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(fields)).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainRow:
    id: int
    seq: int
    prev_hash: str
    hash: str
    fields: Mapping[str, Any]  # everything the hash covers (seq included)


@dataclass(frozen=True, slots=True)
class Break:
    id: int
    seq: int
    reason: str


class ChainVerifier:
    """Checks rows one at a time, in seq order, so a long log is never held in memory."""

    def __init__(self) -> None:
        self.prev, self.expected_seq, self.count = GENESIS, 1, 0

    def feed(self, row: ChainRow) -> Break | None:
        self.count += 1
        if row.seq != self.expected_seq:
            return Break(row.id, row.seq, f"sequence gap: expected {self.expected_seq}")
        if row.prev_hash != self.prev:
            return Break(row.id, row.seq, "previous hash does not match the row before")
        if row.fields.get("seq") != row.seq or link_hash(self.prev, row.fields) != row.hash:
            return Break(row.id, row.seq, "content does not match its hash")
        self.prev, self.expected_seq = row.hash, self.expected_seq + 1
        return None


def verify_chain(rows: Iterable[ChainRow]) -> tuple[int, Break | None]:
    """Walk rows in seq order: (rows checked, first break or None)."""
    verifier = ChainVerifier()
    for row in rows:
        brk = verifier.feed(row)
        if brk is not None:
            return verifier.count, brk
    return verifier.count, None
