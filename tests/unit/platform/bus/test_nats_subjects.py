"""Topic <-> subject <-> stream mapping of the NATS transport, with and without namespace."""

from __future__ import annotations

import pytest

from argosy.contracts import headers as h
from argosy.contracts.topics import STREAMS, stream_for
from argosy.platform.bus._nats_subjects import MSG_ID_HEADER, SubjectMap, incoming_headers


def test_production_map_is_the_identity() -> None:
    m = SubjectMap()
    assert m.subject("trading.fill.acc1") == "trading.fill.acc1"
    assert m.topic("trading.fill.acc1") == "trading.fill.acc1"
    spec = stream_for("trading.fill.acc1")
    assert m.stream_name(spec) == "ARGOSY_TRADING"
    assert m.stream_subjects(spec) == ["trading", "trading.>"]


def test_namespace_prefixes_subjects_and_suffixes_streams() -> None:
    m = SubjectMap("t42")
    spec = stream_for("md.trade.binance.BTCUSDT")
    assert m.subject("md.trade.x") == "t42.md.trade.x"
    assert m.topic("t42.md.trade.x") == "md.trade.x"
    assert m.stream_name(spec) == "ARGOSY_MD_t42"
    assert m.stream_subjects(spec) == ["t42.md", "t42.md.>"]


@pytest.mark.parametrize("bad", ["a.b", "x y", "*", "ns>"])
def test_namespace_must_be_one_plain_token(bad: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        SubjectMap(bad)


def test_literal_root_targets_one_stream_with_the_pattern_as_filter() -> None:
    [target] = SubjectMap("ns").targets("trading.fill.*")
    assert target.stream == "ARGOSY_TRADING_ns"
    assert target.subjects == ("ns.trading.fill.*",)
    assert target.filter_subject == "ns.trading.fill.*"


def test_star_root_targets_every_stream() -> None:
    targets = SubjectMap().targets("*.changed.>")
    assert [t.stream for t in targets] == [s.name for s in STREAMS]
    assert targets[0].filter_subject == f"{STREAMS[0].root}.changed.>"
    assert SubjectMap().targets("*")[1].subjects == (STREAMS[1].root,)


def test_full_wildcard_reads_whole_streams() -> None:
    targets = SubjectMap("ns").targets(">")
    assert len(targets) == len(STREAMS)
    assert all(t.filter_subject is None for t in targets)
    assert targets[0].subjects == (f"ns.{STREAMS[0].root}", f"ns.{STREAMS[0].root}.>")


def test_unknown_root_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no stream"):
        SubjectMap().targets("nope.x")


def test_incoming_headers_drop_nats_control_headers() -> None:
    hdrs, msg_id = incoming_headers(
        {MSG_ID_HEADER: "m1", "Nats-Expected-Stream": "S", h.MESSAGE_ID: "m1", "x-a": "1"}
    )
    assert hdrs == {h.MESSAGE_ID: "m1", "x-a": "1"}
    assert msg_id == "m1"
    assert incoming_headers({MSG_ID_HEADER: "only"}) == ({}, "only")
    assert incoming_headers(None) == ({}, "")
