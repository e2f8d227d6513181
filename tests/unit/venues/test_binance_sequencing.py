"""Duplicate, late and gap verdicts by id."""

from __future__ import annotations

from argosy.venues.binance.sequencing import IdSequencer, VerdictKind


def test_verdicts() -> None:
    seq: IdSequencer[str] = IdSequencer()
    assert seq.offer("a", 10).kind is VerdictKind.FIRST
    assert seq.offer("a", 11).kind is VerdictKind.NEXT
    assert seq.offer("a", 11).kind is VerdictKind.DUPLICATE
    assert seq.offer("a", 9).kind is VerdictKind.LATE
    gap = seq.offer("a", 15)
    assert (gap.kind, gap.missing_from, gap.missing_to) == (VerdictKind.GAP, 12, 14)
    assert seq.last("a") == 15
    assert seq.offer("b", 1).kind is VerdictKind.FIRST  # keys are independent


def test_check_does_not_record() -> None:
    seq: IdSequencer[str] = IdSequencer()
    seq.accept("a", 5)
    assert seq.check("a", 6).kind is VerdictKind.NEXT
    assert seq.check("a", 6).kind is VerdictKind.NEXT
    assert not seq.check("a", 5).accepted
