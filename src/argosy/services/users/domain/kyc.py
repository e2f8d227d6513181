"""KYC: none → submitted → under_review → approved | rejected, and what may be uploaded.

A rejected applicant may submit again (rejected → submitted). Only a reviewer moves a case
past `submitted`, never on their own case, and a rejection always says why. Uploads are
checked by their first bytes, not by the client's Content-Type alone.
"""

from __future__ import annotations

import enum

from argosy.kernel.errors import Conflict, Forbidden, Invalid

__all__ = ["KycAction", "KycState", "sniff_content_type", "transition"]


class KycState(enum.StrEnum):
    NONE = "none"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class KycAction(enum.StrEnum):
    SUBMIT = "submit"
    START_REVIEW = "start_review"
    APPROVE = "approve"
    REJECT = "reject"


_MOVES: dict[tuple[KycState, KycAction], KycState] = {
    (KycState.NONE, KycAction.SUBMIT): KycState.SUBMITTED,
    (KycState.SUBMITTED, KycAction.SUBMIT): KycState.SUBMITTED,  # one more document
    (KycState.REJECTED, KycAction.SUBMIT): KycState.SUBMITTED,
    (KycState.SUBMITTED, KycAction.START_REVIEW): KycState.UNDER_REVIEW,
    (KycState.UNDER_REVIEW, KycAction.APPROVE): KycState.APPROVED,
    (KycState.UNDER_REVIEW, KycAction.REJECT): KycState.REJECTED,
}
_REVIEWER_ACTIONS = frozenset({KycAction.START_REVIEW, KycAction.APPROVE, KycAction.REJECT})


def transition(
    state: KycState, action: KycAction, *, actor: str, subject: str, reason: str | None = None
) -> KycState:
    """The next state, or Conflict/Forbidden/Invalid naming what is wrong."""
    if action in _REVIEWER_ACTIONS and actor == subject:
        raise Forbidden("reviewers cannot review their own KYC")
    if action is KycAction.SUBMIT and actor != subject:
        raise Forbidden("only the applicant submits documents")
    if action is KycAction.REJECT and not (reason and reason.strip()):
        raise Invalid("a rejection needs a reason", field="reason")
    nxt = _MOVES.get((state, action))
    if nxt is None:
        raise Conflict(f"cannot {action.value} a KYC case that is {state.value}", field="action")
    return nxt


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def sniff_content_type(head: bytes) -> str | None:
    """The type the file's first bytes prove, among the ones KYC accepts."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return None
