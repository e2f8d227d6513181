"""The refresh-token family state machine."""

from __future__ import annotations

from argosy.services.users.domain.refresh import Outcome, TokenView, decide

S = 1_000_000_000
GRACE = 10 * S


def view(**kw: object) -> TokenView:
    base: dict[str, object] = {"expires_ns": 1000 * S, "session_expires_ns": 2000 * S,
                               "session_revoked": False}
    base.update(kw)
    return TokenView(**base)  # type: ignore[arg-type]


def test_live_token_rotates() -> None:
    assert decide(view(), 10 * S, GRACE) is Outcome.ROTATE


def test_expired_token_or_session_must_log_in_again() -> None:
    assert decide(view(), 1000 * S, GRACE) is Outcome.EXPIRED
    assert decide(view(session_expires_ns=5 * S), 6 * S, GRACE) is Outcome.EXPIRED


def test_revoked_family_is_revoked_whatever_the_token() -> None:
    assert decide(view(session_revoked=True), 1, GRACE) is Outcome.REVOKED
    assert decide(view(session_revoked=True, rotated_ns=1), 2, GRACE) is Outcome.REVOKED


def test_concurrent_refresh_within_grace_gets_the_same_child() -> None:
    used = view(rotated_ns=100 * S, child_is_head=True, has_grace_pair=True)
    assert decide(used, 100 * S, GRACE) is Outcome.REPLAY_GRACE
    assert decide(used, 110 * S, GRACE) is Outcome.REPLAY_GRACE


def test_reuse_after_grace_or_after_the_child_moved_on_revokes_the_family() -> None:
    used = view(rotated_ns=100 * S, child_is_head=True, has_grace_pair=True)
    assert decide(used, 110 * S + 1, GRACE) is Outcome.REUSE_DETECTED
    moved = view(rotated_ns=100 * S, child_is_head=False, has_grace_pair=True)
    assert decide(moved, 101 * S, GRACE) is Outcome.REUSE_DETECTED
    no_pair = view(rotated_ns=100 * S, child_is_head=True, has_grace_pair=False)
    assert decide(no_pair, 101 * S, GRACE) is Outcome.REUSE_DETECTED
    assert decide(used, 101 * S, 0) is Outcome.REUSE_DETECTED
