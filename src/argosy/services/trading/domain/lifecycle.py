"""The one order state machine: which status may follow which, and how a venue's report
moves an order.

new → submitted → accepted → partially_filled → filled | cancelled | rejected | expired,
plus submitted_unknown when a send's outcome is not known. Venue reports arrive late, twice
or out of order (a stream message after the query that already saw the fill), so
`advance` computes the stored transitions from what is known locally and what the report
says, and ignores a report that would move the order backwards. Every step it returns is
stored as one transition row by the service.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from argosy.kernel.errors import Conflict
from argosy.kernel.orders import TERMINAL_STATUSES, OrderStatus

__all__ = ["ALLOWED", "Step", "advance", "check_transition", "is_open", "path_to"]

S = OrderStatus
_AFTER_SEND = frozenset({S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED,
                         S.EXPIRED})

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    # a new order is cancelled (never sent) or refused before it leaves
    S.NEW: frozenset({S.SUBMITTED, S.CANCELLED, S.REJECTED}),
    S.SUBMITTED: _AFTER_SEND | {S.SUBMITTED_UNKNOWN},
    S.SUBMITTED_UNKNOWN: _AFTER_SEND,
    # the matching engine may refuse an order it acknowledged (post-only that would take)
    S.ACCEPTED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    # a partial fill may follow a partial fill: the filled quantity grows
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}

# how far along an order is; a report of a lower rank is stale
_RANK = {S.NEW: 0, S.SUBMITTED: 1, S.SUBMITTED_UNKNOWN: 1, S.ACCEPTED: 2,
         S.PARTIALLY_FILLED: 3, S.FILLED: 4, S.CANCELLED: 4, S.REJECTED: 4, S.EXPIRED: 4}


def is_open(status: OrderStatus) -> bool:
    return status not in TERMINAL_STATUSES


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in ALLOWED[current]:
        raise Conflict(f"an order cannot go from {current} to {target}", field="status",
                       code="illegal_transition")


def path_to(current: OrderStatus, target: OrderStatus) -> list[OrderStatus]:
    """The statuses to pass through, stored one by one (a new order the venue reports as
    filled was first submitted)."""
    if target in ALLOWED[current]:
        return [target]
    if current is S.NEW and target in ALLOWED[S.SUBMITTED]:
        return [S.SUBMITTED, target]
    if current is S.SUBMITTED_UNKNOWN and target is S.SUBMITTED:
        return []
    check_transition(current, target)
    return []  # unreachable: check_transition raised


@dataclass(frozen=True, slots=True)
class Step:
    status: OrderStatus
    filled_quantity: Decimal


def advance(current: OrderStatus, filled: Decimal, quantity: Decimal,
            reported: OrderStatus, reported_filled: Decimal) -> list[Step]:
    """The transitions a venue report causes; [] when it tells nothing new.

    A terminal order never moves again; a report with less filled than known, or an earlier
    stage at the same fill, is stale. A fill reported with a non-fill status (accepted but
    filled > 0) is read as the partial fill it is, and a fill of the whole quantity as
    filled, because quantities are facts and status words differ between venues.
    """
    if not is_open(current) or reported_filled < filled:
        return []
    if reported_filled > quantity:
        raise Conflict(f"venue reports {reported_filled} filled of {quantity}",
                       field="filled_quantity", code="overfill")
    target = reported
    if reported_filled == quantity and quantity > 0:
        target = S.FILLED
    elif reported_filled > 0 and reported in (S.ACCEPTED, S.SUBMITTED, S.SUBMITTED_UNKNOWN):
        target = S.PARTIALLY_FILLED
    elif reported_filled == 0 and target is S.PARTIALLY_FILLED:
        target = S.ACCEPTED
    if target is S.REJECTED and reported_filled > 0:
        target = S.CANCELLED  # what was filled stays filled: the rest is cancelled
    if target is S.NEW:
        return []
    grew = reported_filled > filled
    if target is current and not (grew and current is S.PARTIALLY_FILLED):
        return []
    if _RANK[target] < _RANK[current] or (_RANK[target] == _RANK[current] and not grew
                                          and target is not S.SUBMITTED_UNKNOWN):
        return []
    if current is S.SUBMITTED_UNKNOWN and target is S.SUBMITTED:
        return []
    steps = path_to(current, target)
    return [Step(s, filled if s is S.SUBMITTED else reported_filled) for s in steps]
