"""The KYC state machine and upload sniffing."""

from __future__ import annotations

import pytest

from argosy.kernel.errors import Conflict, Forbidden, Invalid
from argosy.services.users.domain.kyc import (
    KycAction,
    KycState,
    sniff_content_type,
    transition,
)

A, R = "usr_applicant", "usr_reviewer"


def test_the_happy_paths() -> None:
    s = transition(KycState.NONE, KycAction.SUBMIT, actor=A, subject=A)
    assert s is KycState.SUBMITTED
    s = transition(s, KycAction.SUBMIT, actor=A, subject=A)
    assert s is KycState.SUBMITTED
    s = transition(s, KycAction.START_REVIEW, actor=R, subject=A)
    assert s is KycState.UNDER_REVIEW
    assert transition(s, KycAction.APPROVE, actor=R, subject=A) is KycState.APPROVED
    rejected = transition(s, KycAction.REJECT, actor=R, subject=A, reason="blurry")
    assert rejected is KycState.REJECTED
    assert transition(rejected, KycAction.SUBMIT, actor=A, subject=A) is KycState.SUBMITTED


@pytest.mark.parametrize(("state", "action"), [
    (KycState.NONE, KycAction.APPROVE),
    (KycState.NONE, KycAction.START_REVIEW),
    (KycState.SUBMITTED, KycAction.APPROVE),
    (KycState.APPROVED, KycAction.SUBMIT),
    (KycState.APPROVED, KycAction.REJECT),
    (KycState.UNDER_REVIEW, KycAction.SUBMIT),
    (KycState.REJECTED, KycAction.APPROVE),
])
def test_illegal_moves_are_conflicts(state: KycState, action: KycAction) -> None:
    actor = A if action is KycAction.SUBMIT else R
    with pytest.raises(Conflict):
        transition(state, action, actor=actor, subject=A, reason="x")


def test_roles_and_reasons() -> None:
    with pytest.raises(Forbidden):
        transition(KycState.SUBMITTED, KycAction.START_REVIEW, actor=A, subject=A)
    with pytest.raises(Forbidden):
        transition(KycState.NONE, KycAction.SUBMIT, actor=R, subject=A)
    with pytest.raises(Invalid) as err:
        transition(KycState.UNDER_REVIEW, KycAction.REJECT, actor=R, subject=A, reason="  ")
    assert err.value.field == "reason"


def test_sniffing() -> None:
    assert sniff_content_type(b"%PDF-1.7 ...") == "application/pdf"
    assert sniff_content_type(b"\xff\xd8\xff\xe0JFIF") == "image/jpeg"
    assert sniff_content_type(b"\x89PNG\r\n\x1a\nIHDR") == "image/png"
    assert sniff_content_type(b"<html>") is None
