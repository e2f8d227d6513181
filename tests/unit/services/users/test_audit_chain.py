"""The audit hash chain detects edits, deletions and reordering; its head anchor detects
the removal of the newest rows, which leaves a chain that still links."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from argosy.services.users.domain.audit_chain import (
    GENESIS,
    ChainRow,
    ChainVerifier,
    Head,
    anchor_problem,
    check_head,
    head_mac,
    link_hash,
    verify_chain,
)

KEY = b"k" * 32


def chain(n: int) -> list[ChainRow]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        fields: dict[str, Any] = {"seq": i, "action": f"a{i}", "detail": {"k": i, "ü": "é"}}
        h = link_hash(prev, fields)
        rows.append(ChainRow(id=100 + i, seq=i, prev_hash=prev, hash=h, fields=fields))
        prev = h
    return rows


def test_an_intact_chain_verifies() -> None:
    assert verify_chain(chain(5)) == (5, None)
    assert verify_chain([]) == (0, None)


def test_key_order_does_not_change_the_hash() -> None:
    assert link_hash(GENESIS, {"a": 1, "b": 2}) == link_hash(GENESIS, {"b": 2, "a": 1})


def test_an_edited_row_is_named() -> None:
    rows = chain(5)
    rows[2] = replace(rows[2], fields={**rows[2].fields, "action": "forged"})
    checked, brk = verify_chain(rows)
    assert brk is not None
    assert brk.id == 103
    assert brk.seq == 3
    assert checked == 3
    assert "content" in brk.reason


def test_a_rehashed_edit_breaks_the_next_link() -> None:
    rows = chain(4)
    forged = {**rows[1].fields, "action": "forged"}
    rows[1] = replace(rows[1], fields=forged, hash=link_hash(rows[1].prev_hash, forged))
    _, brk = verify_chain(rows)
    assert brk is not None
    assert brk.seq == 3
    assert "previous" in brk.reason


def test_a_deleted_row_is_a_sequence_gap() -> None:
    rows = chain(4)
    del rows[1]
    _, brk = verify_chain(rows)
    assert brk is not None
    assert brk.seq == 3
    assert "gap" in brk.reason


def _walked(rows: list[ChainRow]) -> ChainVerifier:
    verifier = ChainVerifier()
    for row in rows:
        assert verifier.feed(row) is None
    return verifier


def _head(row: ChainRow, key: bytes | None = KEY) -> Head:
    return Head(row.seq, row.hash, head_mac(key, row.seq, row.hash) if key else None)


def test_a_chain_ending_at_its_signed_anchor_is_intact() -> None:
    rows = chain(5)
    assert check_head(_walked(rows), _head(rows[-1]), KEY) is None
    assert check_head(_walked(rows), _head(rows[-1], None), None) is None  # no key: position
    assert check_head(_walked([]), None, KEY) is None  # an empty log needs no anchor


def test_the_removal_of_the_newest_rows_is_named() -> None:
    rows = chain(5)
    brk = check_head(_walked(rows[:3]), _head(rows[-1]), KEY)
    assert brk is not None
    assert (brk.id, brk.seq) == (103, 4)  # the last row left, the first one missing
    assert brk.reason == "rows 4..5 were removed (the head anchor is at seq 5)"
    brk = check_head(_walked(rows[:3]), _head(rows[-1], None), None)  # without the key too
    assert brk is not None
    assert brk.seq == 4


@pytest.mark.parametrize("forged_mac", [None, "0" * 64, "sign with a guessed key"])
def test_an_anchor_rewritten_without_the_key_does_not_verify(forged_mac: str | None) -> None:
    rows = chain(5)[:3]  # the intruder cut two rows and moved the anchor to the new end
    forged = Head(3, rows[-1].hash, forged_mac if forged_mac != "sign with a guessed key"
                  else head_mac(b"g" * 32, 3, rows[-1].hash))
    brk = check_head(_walked(rows), forged, KEY)
    assert brk is not None
    assert brk.reason == "the head anchor's signature does not verify"


def test_rows_past_the_anchor_or_a_different_end_are_named() -> None:
    rows = chain(5)
    brk = check_head(_walked(rows), _head(rows[2]), KEY)
    assert brk is not None
    assert (brk.seq, brk.reason) == (4, "rows after seq 3 were added behind the service's back")
    other = replace(rows[-1], hash="f" * 64)
    brk = check_head(_walked(rows), _head(other), KEY)
    assert brk is not None
    assert brk.reason == "the head anchor does not match the newest row"
    brk = check_head(_walked(rows), None, KEY)
    assert brk is not None
    assert "no head anchor" in brk.reason


def test_at_append_an_anchor_off_the_end_or_forged_is_a_problem() -> None:
    rows = chain(3)
    end = (3, rows[-1].hash)
    assert anchor_problem(end, _head(rows[-1]), KEY) is None
    assert anchor_problem(end, _head(rows[-1], None), KEY) is None  # unsigned: tolerated
    assert anchor_problem(None, None, KEY) is None  # the first row ever
    assert anchor_problem(end, None, KEY) == "no head anchor; the log ends at seq 3"
    assert anchor_problem((2, rows[1].hash), _head(rows[-1]), KEY) == (
        "the head anchor is at seq 3, the log ends at seq 2")
    assert anchor_problem(None, _head(rows[-1]), KEY) == (
        "the head anchor is at seq 3, the log is empty")
    forged = Head(3, rows[-1].hash, head_mac(b"g" * 32, 3, rows[-1].hash))
    assert anchor_problem(end, forged, KEY) == "the head anchor's signature does not verify"
