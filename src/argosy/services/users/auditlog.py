"""Append to, read and verify the hash-chained security audit log.

Appending takes the chain head under a lock (the SQLite writer is already serial; on
PostgreSQL a transaction-scoped advisory lock), so two transactions can never link to the
same predecessor. Use-cases append as the last statement of their transaction, which keeps
that lock short and never held while waiting for a row lock. The head anchor (the newest
link, MAC'd with `anchor_key` when there is one) is rewritten under the same lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from argosy.kernel.clock import Clock
from argosy.platform.db.engine import Database
from argosy.services.users.domain.audit_chain import (
    GENESIS,
    Break,
    ChainRow,
    ChainVerifier,
    Head,
    anchor_problem,
    check_head,
    head_mac,
    link_hash,
)
from argosy.services.users.models import AuditHeadRow, AuditRow

__all__ = ["AuditFilter", "AuditLog", "Who", "chain_fields"]

log = structlog.get_logger("argosy.users.audit")

_LOCK_KEY = 0x55414C  # "UAL"
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Who:
    """Who did it and from where, for the audit row."""

    actor: str  # "user:<id>", "service:trading", "operator:alice", "anonymous"
    org: str | None = None
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    org: str
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    before_seq: int | None = None


def chain_fields(row: AuditRow) -> dict[str, Any]:
    """Everything the row's hash covers."""
    return {
        "seq": row.seq, "at_ns": row.at_ns, "org_id": row.org_id, "actor": row.actor,
        "action": row.action, "target_type": row.target_type, "target_id": row.target_id,
        "ip": row.ip, "request_id": row.request_id, "detail": row.detail,
    }


def _request_id() -> str | None:
    rid = structlog.contextvars.get_contextvars().get("request_id")
    return str(rid) if rid else None


class AuditLog:
    def __init__(self, db: Database, clock: Clock, anchor_key: bytes | None = None) -> None:
        """`anchor_key` signs the head anchor on append and is required of it on verify;
        without it (a caller that does not hold the key) the anchor is written unsigned and
        checked for position only."""
        self._db, self._clock, self._key = db, clock, anchor_key

    async def append(
        self, s: AsyncSession, who: Who, action: str, *, target_type: str | None = None,
        target_id: str | None = None, detail: dict[str, Any] | None = None,
        org: str | None = None,
    ) -> AuditRow:
        """Link a row to the chain and move the anchor to it. An anchor that no longer
        matches the chain's end (rows cut off, the anchor forged) is recorded first, as an
        `audit.anchor_mismatch` row: the evidence stays in the chain it signs from then on."""
        if self._db.kind == "postgresql":
            await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        last = (await s.execute(
            select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
        )).first()
        end = (int(last[0]), str(last[1])) if last else None
        anchor = await s.get(AuditHeadRow, 1)
        problem = anchor_problem(
            end, Head(anchor.seq, anchor.hash, anchor.mac) if anchor else None, self._key)
        if problem is not None:
            log.error("users.audit_anchor_mismatch", problem=problem)
            found = self._link(s, end, Who("service:users"), "audit.anchor_mismatch",
                               None, None, {"problem": problem}, None)
            end = (found.seq, found.hash)
        row = self._link(s, end, who, action, target_type, target_id, detail, org)
        mac = head_mac(self._key, row.seq, row.hash) if self._key is not None else None
        if anchor is None:
            s.add(AuditHeadRow(id=1, seq=row.seq, hash=row.hash, mac=mac, updated_ns=row.at_ns))
        else:
            anchor.seq, anchor.hash, anchor.mac = row.seq, row.hash, mac
            anchor.updated_ns = row.at_ns
        return row

    def _link(self, s: AsyncSession, end: tuple[int, str] | None, who: Who, action: str,
              target_type: str | None, target_id: str | None, detail: dict[str, Any] | None,
              org: str | None) -> AuditRow:
        seq, prev = (end[0] + 1, end[1]) if end else (1, GENESIS)
        row = AuditRow(
            seq=seq, at_ns=self._clock.now_ns(), org_id=org if org is not None else who.org,
            actor=who.actor, action=action, target_type=target_type, target_id=target_id,
            ip=who.ip, request_id=_request_id(), detail=detail or {}, prev_hash=prev, hash="",
        )
        row.hash = link_hash(prev, chain_fields(row))
        s.add(row)
        return row

    async def query(self, f: AuditFilter, *, limit: int) -> Sequence[AuditRow]:
        async with self._db.read() as s:
            return (await s.scalars(self._select(f).limit(limit))).all()

    async def stream(self, f: AuditFilter) -> AsyncIterator[AuditRow]:
        """Every matching row, newest first, in batches (exports)."""
        before = f.before_seq
        while True:
            batch = await self.query(_replace_before(f, before), limit=_BATCH)
            for row in batch:
                yield row
            if len(batch) < _BATCH:
                return
            before = batch[-1].seq

    async def verify(self) -> tuple[int, Break | None]:
        """Walk the whole chain in order, then hold its end against the head anchor:
        (rows checked, first break or None).

        The anchor is read after the walk: a row commits together with its anchor, so the
        anchor is then at or past every row walked. Rows that committed meanwhile are
        walked up to the anchor's seq, no further (later ones have a later anchor)."""
        verifier = ChainVerifier()
        brk = await self._walk(verifier, upto=None)
        if brk is not None:
            return verifier.count, brk
        async with self._db.read() as s:
            anchor = await s.get(AuditHeadRow, 1)
        head = Head(anchor.seq, anchor.hash, anchor.mac) if anchor is not None else None
        if head is not None and head.seq > verifier.expected_seq - 1:
            brk = await self._walk(verifier, upto=head.seq)
            if brk is not None:
                return verifier.count, brk
        return verifier.count, check_head(verifier, head, self._key)

    async def _walk(self, verifier: ChainVerifier, upto: int | None) -> Break | None:
        after = verifier.expected_seq - 1
        while True:
            q = select(AuditRow).where(AuditRow.seq > after)
            if upto is not None:
                q = q.where(AuditRow.seq <= upto)
            async with self._db.read() as s:
                batch = (await s.scalars(q.order_by(AuditRow.seq).limit(_BATCH))).all()
            for r in batch:
                brk = verifier.feed(ChainRow(r.id, r.seq, r.prev_hash, r.hash, chain_fields(r)))
                if brk is not None:
                    return brk
            if len(batch) < _BATCH:
                return None
            after = batch[-1].seq

    @staticmethod
    def _select(f: AuditFilter) -> Any:
        q = select(AuditRow).where(AuditRow.org_id == f.org)
        for column, value in ((AuditRow.actor, f.actor), (AuditRow.action, f.action),
                              (AuditRow.target_type, f.target_type),
                              (AuditRow.target_id, f.target_id)):
            if value is not None:
                q = q.where(column == value)
        if f.since_ns is not None:
            q = q.where(AuditRow.at_ns >= f.since_ns)
        if f.until_ns is not None:
            q = q.where(AuditRow.at_ns < f.until_ns)
        if f.before_seq is not None:
            q = q.where(AuditRow.seq < f.before_seq)
        return q.order_by(AuditRow.seq.desc())


def _replace_before(f: AuditFilter, before: int | None) -> AuditFilter:
    return replace(f, before_seq=before)
