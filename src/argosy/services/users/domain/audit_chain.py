"""The security audit log as a hash chain: each row commits to every row before it.

hash(n) = sha256(hash(n-1) + canonical JSON of row n's fields). Editing, deleting or
reordering any row breaks the link from that row on, and `verify` names the first row
whose stored hash or predecessor no longer matches. Canonical JSON (sorted keys, no
spaces, UTF-8) makes the bytes independent of the database that stored the row.

A chain alone cannot tell that its newest rows were cut off: what is left still links.
So every append also rewrites a head anchor (seq and hash of the newest row), in the same
transaction, MAC'd with a key kept outside the database: `check_head` compares the end of
the chain with it. Without the key an intruder must rewrite the anchor consistently; with
it they cannot write a valid one (short of replaying an anchor they copied earlier).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GENESIS", "Break", "ChainRow", "ChainVerifier", "Head", "anchor_problem", "canonical",
    "check_head", "head_mac", "link_hash", "verify_chain",
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
        self.last_id = 0  # id of the newest row checked

    def feed(self, row: ChainRow) -> Break | None:
        self.count += 1
        if row.seq != self.expected_seq:
            return Break(row.id, row.seq, f"sequence gap: expected {self.expected_seq}")
        if row.prev_hash != self.prev:
            return Break(row.id, row.seq, "previous hash does not match the row before")
        if row.fields.get("seq") != row.seq or link_hash(self.prev, row.fields) != row.hash:
            return Break(row.id, row.seq, "content does not match its hash")
        self.prev, self.expected_seq, self.last_id = row.hash, self.expected_seq + 1, row.id
        return None


def verify_chain(rows: Iterable[ChainRow]) -> tuple[int, Break | None]:
    """Walk rows in seq order: (rows checked, first break or None)."""
    verifier = ChainVerifier()
    for row in rows:
        brk = verifier.feed(row)
        if brk is not None:
            return verifier.count, brk
    return verifier.count, None


@dataclass(frozen=True, slots=True)
class Head:
    """The anchor: the newest row's seq and hash, and a MAC over both (None: unsigned)."""

    seq: int
    hash: str
    mac: str | None


def head_mac(key: bytes, seq: int, row_hash: str) -> str:
    return hmac.new(key, f"argosy-audit-head|{seq}|{row_hash}".encode(), "sha256").hexdigest()


def check_head(verifier: ChainVerifier, head: Head | None, key: bytes | None) -> Break | None:
    """After a chain walked without a break: does its end match the anchor?"""
    last_seq, last_id = verifier.expected_seq - 1, verifier.last_id
    if head is None:
        if last_seq == 0:
            return None
        return Break(last_id, last_seq, "no head anchor: the newest link is not recorded")
    if key is not None and (head.mac is None or not hmac.compare_digest(
            head.mac, head_mac(key, head.seq, head.hash))):
        return Break(last_id, head.seq, "the head anchor's signature does not verify")
    if head.seq > last_seq:
        return Break(last_id, last_seq + 1,
                     f"rows {last_seq + 1}..{head.seq} were removed (the head anchor is at "
                     f"seq {head.seq})")
    if head.seq < last_seq:
        return Break(last_id, head.seq + 1,
                     f"rows after seq {head.seq} were added behind the service's back")
    if head.hash != verifier.prev:
        return Break(last_id, last_seq, "the head anchor does not match the newest row")
    return None


def anchor_problem(end: tuple[int, str] | None, head: Head | None,
                   key: bytes | None) -> str | None:
    """At append time: does the anchor still point at the chain's end (seq, hash)?

    An unsigned anchor is accepted here (one written by a tool without the key, or by
    the migration); `check_head` with the key is the strict check."""
    if head is None:
        return None if end is None else f"no head anchor; the log ends at seq {end[0]}"
    if end is None or (head.seq, head.hash) != end:
        at = "the log is empty" if end is None else f"the log ends at seq {end[0]}"
        return f"the head anchor is at seq {head.seq}, {at}"
    if key is not None and head.mac is not None and not hmac.compare_digest(
            head.mac, head_mac(key, head.seq, head.hash)):
        return "the head anchor's signature does not verify"
    return None
