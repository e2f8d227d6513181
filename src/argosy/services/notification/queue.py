"""The delivery queue's own statements: claim due rows, finish them, put them back.

Claims are safe across instances: on PostgreSQL the due rows are selected `FOR UPDATE
SKIP LOCKED`, so two workers never take the same row and neither waits for the other; on
SQLite every write transaction holds the database lock (BEGIN IMMEDIATE), so the select
and the update are one atomic step. Finishing a row checks the claim token, so a worker
whose lease expired cannot overwrite the newer owner's result.

At least once, across a crash
-----------------------------
One attempt is three steps, and only the first and last touch the database:

1. claim (committed before anything is sent): state `sending`, `attempts` = n (the
   attempt's number), a fresh `claim_token`, `lease_until` = now + `lease_s` (120 s);
2. the send: the provider accepts (SMTP 250, HTTP 2xx, JetStream ack) or not;
3. finish (committed by the recorder, batched, normally milliseconds after 2): sent /
   delivered / failed / dead, only where the token is still ours.

If the process dies before 2 reaches the provider, nothing was sent and the row is
claimed again once its lease runs out: sent once, `lease_s` late. If it dies (or the
database is unreachable for the recorder's five tries) *between the provider's acceptance
and 3*, the row stays `sending` until the lease runs out, is claimed again as attempt n+1
(logged as `notification.lease_expired`) and sent a second time: the recipient may get
two copies, never zero. The window is the recorder's write, milliseconds; the cost of
hitting it is one duplicate, `lease_s` later. Every copy carries the same delivery id,
so each channel's receiver can recognise the second one:

- email: `Message-ID: <delivery id@from-domain>` and `X-Argosy-Delivery` (mail systems
  that collapse duplicates by Message-ID, Gmail among them, show one);
- webhook: `X-Argosy-Delivery`, documented for receivers to drop repeats;
- in-app: the NATS message id is the delivery id, so JetStream's duplicate window (2 min)
  drops a resend within it; the inbox row is written at intake and never doubles;
- Web Push: `Topic: <delivery id>` makes the push service replace a copy it still holds;
  the payload's `id` lets the service worker use it as the notification tag;
- SMS: Twilio's API has no idempotency key, but with receipts enabled a `delivered`
  callback for a row still `sending` finishes it (receipts.py), so a crash after the
  provider accepted is healed before the lease expires whenever the handset is reachable;
- Telegram: no way to dedupe: a duplicate is possible.

A graceful stop (SIGTERM) is not a crash: rows not started are handed back at once and
sends in progress get a few seconds to record their result.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Table, and_, bindparam, delete, func, or_, select, update

from argosy.platform.db.engine import Database
from argosy.services.notification.domain.outcomes import Transition
from argosy.services.notification.domain.receipts import Receipt
from argosy.services.notification.models import DeliveryRow, PushSubscriptionRow

__all__ = ["DeliveryQueue", "Finish"]

log = structlog.get_logger("argosy.notification.queue")

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
            q = select(DeliveryRow.id, DeliveryRow.state).where(due)
            q = q.order_by(DeliveryRow.next_attempt_ns).limit(limit)
            if self._db.kind == "postgresql":
                q = q.with_for_update(skip_locked=True)
            found = (await s.execute(q)).all()
            if not found:
                return []
            ids = [i for i, _ in found]
            orphans = [i for i, state in found if state == "sending"]
            if orphans:  # an attempt whose result was never recorded: it may have gone out
                log.warning("notification.lease_expired", deliveries=orphans[:20],
                            count=len(orphans))
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

    async def apply_receipt(self, delivery_id: str, channel: str, receipt: Receipt,
                            provider_id: str | None, now_ns: int) -> bool | None:
        """A provider's later word on a send (an SMS status callback). None: no such
        delivery on `channel`; False: nothing to change; True: moved.

        `delivered` is accepted from sending, sent or failed: the recipient has the
        message, so a send still being recorded keeps its result out (the claim token is
        cleared) and a retry that was waiting is not made. A failure receipt only ends a
        send that is not being retried already, and only the attempt we last recorded
        (same provider id, or none yet), so an old attempt's failure cannot undo a newer
        one."""
        async with self._db.transaction() as s:
            row = (await s.execute(select(_T.c.state, _T.c.provider_id).where(
                _T.c.id == delivery_id, _T.c.channel == channel))).first()
            if row is None:
                return None
            where = [_T.c.id == delivery_id]
            values: dict[str, Any] = {
                "claim_token": None, "lease_until_ns": None, "updated_ns": now_ns,
                "held_until_ns": None, "sent_ns": func.coalesce(_T.c.sent_ns, now_ns),
                "provider_id": func.coalesce(_T.c.provider_id, provider_id)}
            if receipt.state == "delivered":
                where.append(_T.c.state.in_(("sending", "sent", "failed")))
                values.update(state="delivered", delivered_ns=now_ns, last_error=None)
            else:
                where.append(_T.c.state.in_(("sending", "sent")))
                if provider_id is not None:
                    where.append(or_(_T.c.provider_id.is_(None),
                                     _T.c.provider_id == provider_id))
                values.update(state="dead", last_error=receipt.reason)
            result = await s.execute(update(_T).where(*where).values(**values))
            return bool(getattr(result, "rowcount", 0))

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
