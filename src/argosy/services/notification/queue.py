"""The delivery queue's own statements: claim due rows, finish them, put them back.

Claims are safe across instances: on PostgreSQL the due rows are selected `FOR UPDATE
SKIP LOCKED`, so two workers never take the same row and neither waits for the other; on
SQLite every write transaction holds the database lock (BEGIN IMMEDIATE), so the select
and the update are one atomic step. A claim stamps a fresh token and a lease; a worker
that dies mid-send leaves the row to be claimed again once the lease runs out (that
message may then go out twice: at least once, never zero times). Finishing a row checks
the token, so a worker whose lease expired cannot overwrite the newer owner's result.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, update

from argosy.platform.db.engine import Database
from argosy.services.notification.domain.outcomes import Transition
from argosy.services.notification.models import DeliveryRow, PushSubscriptionRow

__all__ = ["DeliveryQueue", "Finish"]

WAITING = ("queued", "failed")

_T: Table = DeliveryRow.__table__  # type: ignore[assignment]
_OWNED = and_(_T.c.id == bindparam("b_id"), _T.c.claim_token == bindparam("b_token"),
              _T.c.state == "sending")
_RELEASE: dict[str, Any] = {"claim_token": None, "lease_until_ns": None,
                             "updated_ns": bindparam("b_now")}
_DONE = update(_T).where(_OWNED).values(
    state=bindparam("b_state"), sent_ns=bindparam("b_now"), provider_id=bindparam("b_provider"),
    delivered_ns=bindparam("b_delivered"), last_error=None, held_until_ns=None, **_RELEASE)
_FAILED = update(_T).where(_OWNED).values(
    state="failed", next_attempt_ns=bindparam("b_next"), last_error=bindparam("b_reason"),
    **_RELEASE)
_DEAD = update(_T).where(_OWNED).values(state="dead", last_error=bindparam("b_reason"),
                                        **_RELEASE)
_REQUEUE = update(_T).where(_OWNED).values(  # not attempted: the claim's count is undone
    state="queued", attempts=_T.c.attempts - 1, next_attempt_ns=bindparam("b_next"),
    **_RELEASE)


@dataclass(frozen=True, slots=True)
class Finish:
    """The result of one claimed row: a transition, or `requeue_at_ns` (not attempted)."""

    delivery_id: str
    token: str
    transition: Transition | None = None
    requeue_at_ns: int | None = None
    forget_push: str | None = None  # a subscription the push service says is gone


class DeliveryQueue:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, now_ns: int, limit: int, lease_s: float) -> Sequence[DeliveryRow]:
        token = uuid.uuid4().hex
        due = or_(
            and_(DeliveryRow.state.in_(WAITING), DeliveryRow.next_attempt_ns <= now_ns),
            and_(DeliveryRow.state == "sending", DeliveryRow.lease_until_ns < now_ns),
        )
        async with self._db.transaction() as s:
            q = select(DeliveryRow.id).where(due).order_by(DeliveryRow.next_attempt_ns)
            q = q.limit(limit)
            if self._db.kind == "postgresql":
                q = q.with_for_update(skip_locked=True)
            ids = list((await s.scalars(q)).all())
            if not ids:
                return []
            # `due` again: should a row be taken meanwhile, PostgreSQL re-checks it after the
            # lock wait, so only rows still due carry our token (safe even without SKIP LOCKED)
            await s.execute(update(DeliveryRow).where(DeliveryRow.id.in_(ids), due).values(
                state="sending", claim_token=token, attempts=DeliveryRow.attempts + 1,
                lease_until_ns=now_ns + int(lease_s * 1e9), updated_ns=now_ns,
            ).execution_options(synchronize_session=False))
            rows = (await s.scalars(select(DeliveryRow).where(
                DeliveryRow.id.in_(ids), DeliveryRow.claim_token == token))).all()
            for row in rows:
                s.expunge(row)
        return rows

    async def finish(self, results: Sequence[Finish], now_ns: int) -> None:
        """One transaction, one executemany per kind of result: a statement per row costs
        more in Python than the database spends on it."""
        done, failed, dead, back, gone = [], [], [], [], []
        for r in results:
            key = {"b_id": r.delivery_id, "b_token": r.token, "b_now": now_ns}
            t = r.transition
            if t is None:
                back.append({**key, "b_next": r.requeue_at_ns or now_ns})
            elif t.state in ("sent", "delivered"):
                done.append({**key, "b_state": t.state, "b_provider": t.provider_id,
                             "b_delivered": now_ns if t.state == "delivered" else None})
            elif t.state == "failed":
                failed.append({**key, "b_next": t.next_attempt_ns, "b_reason": t.reason})
            else:
                dead.append({**key, "b_reason": t.reason})
            if r.forget_push:
                gone.append(r.forget_push)
        async with self._db.transaction() as s:
            for statement, params in ((_DONE, done), (_FAILED, failed), (_DEAD, dead),
                                      (_REQUEUE, back)):
                if params:
                    await s.execute(statement, params)
            if gone:
                await s.execute(delete(PushSubscriptionRow).where(
                    PushSubscriptionRow.id.in_(gone)))

    async def next_due_ns(self) -> int | None:
        async with self._db.read() as s:
            value = await s.scalar(select(func.min(DeliveryRow.next_attempt_ns)).where(
                DeliveryRow.state.in_(WAITING)))
        return int(value) if value is not None else None

    async def depth(self) -> dict[str, int]:
        async with self._db.read() as s:
            rows = (await s.execute(select(DeliveryRow.state, func.count()).where(
                DeliveryRow.state.in_((*WAITING, "sending"))).group_by(DeliveryRow.state))).all()
        return {str(state): int(n) for state, n in rows}
