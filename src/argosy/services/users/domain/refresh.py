"""Refresh-token families: rotation on every use, reuse detection, and a grace window.

A session is one family. Each refresh consumes the presented token and issues its child.
Presenting a consumed token again means it leaked (or a client is confused): the whole
family is revoked, so the thief's copy and the victim's both die and the victim logs in
again. One exception keeps honest clients logged in: two tabs refreshing at once. Within
`grace` of the rotation, while the child is still the family's newest token, the parent
gets the same child back instead of a revocation.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Outcome", "TokenView", "decide"]


class Outcome(enum.Enum):
    ROTATE = "rotate"  # issue the child, mark this token used
    REPLAY_GRACE = "replay_grace"  # answer with the child already issued
    REUSE_DETECTED = "reuse_detected"  # revoke the family
    EXPIRED = "expired"  # token or session too old: log in again
    REVOKED = "revoked"  # the family was revoked (logout, reuse, admin)


@dataclass(frozen=True, slots=True)
class TokenView:
    """What the decision needs to know about a presented token and its family."""

    expires_ns: int
    session_expires_ns: int
    session_revoked: bool
    rotated_ns: int | None = None  # when this token was consumed; None while it is live
    child_is_head: bool = False  # the token issued from this one is still unconsumed
    has_grace_pair: bool = False  # the issued pair is still retrievable


def decide(token: TokenView, now_ns: int, grace_ns: int) -> Outcome:
    if token.session_revoked:
        return Outcome.REVOKED
    if token.rotated_ns is not None:
        in_grace = 0 <= now_ns - token.rotated_ns <= grace_ns
        if in_grace and token.child_is_head and token.has_grace_pair:
            return Outcome.REPLAY_GRACE
        return Outcome.REUSE_DETECTED
    if now_ns >= token.expires_ns or now_ns >= token.session_expires_ns:
        return Outcome.EXPIRED
    return Outcome.ROTATE
