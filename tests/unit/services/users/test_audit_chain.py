"""The audit hash chain detects edits, deletions and reordering."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from argosy.services.users.domain.audit_chain import GENESIS, ChainRow, link_hash, verify_chain


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
