"""Binance's local order book procedure on the real recordings, and on its edge cases.

The naive rebuild below is deliberately written without any of venues.binance: plain
dicts, the documented rule, so a mistake in BookSync cannot hide in both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from argosy.venues.binance.book_sync import BookSync, SyncOutcome, SyncState
from argosy.venues.binance.markets import DepthRule
from argosy.venues.binance.payloads import parse_depth_diff, parse_depth_snapshot
from tests.support.binance_data import book_file, rest_snapshots, stream_events

SPOT = ("binance_spot_BTCUSDT_20240808.jsonl.gz", "binance_spot_BTCUSDT_rest_depth_snapshots.jsonl")
USDM = ("binance_usdm_BTCUSDT_20240808.jsonl.gz", "binance_usdm_BTCUSDT_rest_depth_snapshots.jsonl")


def naive_rebuild(snapshot: dict[str, Any], diffs: list[dict[str, Any]], futures: bool
                  ) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal], int]:
    last = snapshot["lastUpdateId"]
    bids = {Decimal(p): Decimal(q) for p, q in snapshot["bids"]}
    asks = {Decimal(p): Decimal(q) for p, q in snapshot["asks"]}
    started = False
    for d in diffs:
        if not started:
            if (d["u"] < last) if futures else (d["u"] <= last):
                continue
            assert d["U"] <= (last if futures else last + 1)
            started = True
        elif futures:
            assert d["pu"] == last
        else:
            assert d["U"] == last + 1
        for side, key in ((bids, "b"), (asks, "a")):
            for p, q in d[key]:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = Decimal(q)
        last = d["u"]
    return bids, asks, last


@pytest.mark.parametrize(("files", "rule"), [(SPOT, DepthRule.SPOT), (USDM, DepthRule.FUTURES)])
def test_recorded_stream_syncs_and_matches_a_naive_rebuild(files: tuple[str, str],
                                                           rule: DepthRule) -> None:
    ws, snap_file = files
    snapshot = rest_snapshots(snap_file)[0]
    diffs = [(r, d) for r, _, d in stream_events(ws) if d.get("e") == "depthUpdate"]
    sync = BookSync("BTCUSDT", rule)
    outcomes: list[SyncOutcome] = []
    # Events in the order the collector received them, the snapshot at its receive time.
    fed_snapshot = False
    for recv, data in diffs:
        if not fed_snapshot and recv > snapshot["recv_ts_ns"]:
            outcomes.append(sync.on_snapshot(parse_depth_snapshot(snapshot["msg"])).outcome)
            fed_snapshot = True
        outcomes.append(sync.on_diff(parse_depth_diff(data)).outcome)
    assert SyncOutcome.GAP not in outcomes
    assert outcomes.count(SyncOutcome.SYNCED) == 1
    assert sync.state is SyncState.SYNCED
    bids, asks, last = naive_rebuild(snapshot["msg"], [d for _, d in diffs],
                                     rule is DepthRule.FUTURES)
    assert sync.book.last_update_id == last
    assert sync.book.bids.as_dict() == bids
    assert sync.book.asks.as_dict() == asks
    assert not sync.book.is_crossed()


def _spot_pair() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    snapshot = rest_snapshots(SPOT[1])[0]["msg"]
    diffs = [d for _, _, d in stream_events(SPOT[0]) if d.get("e") == "depthUpdate"][:40]
    return snapshot, diffs


def test_spot_gap_is_detected_and_a_new_snapshot_heals_it() -> None:
    snapshot, diffs = _spot_pair()
    sync = BookSync("BTCUSDT", DepthRule.SPOT)
    for d in diffs[:5]:
        sync.on_diff(parse_depth_diff(d))
    assert sync.on_snapshot(parse_depth_snapshot(snapshot)).outcome is SyncOutcome.SYNCED
    applied = [sync.on_diff(parse_depth_diff(d)).outcome for d in diffs[5:20]]
    assert set(applied) == {SyncOutcome.APPLIED}
    # diffs[20] is withheld: the next one no longer chains.
    assert sync.on_diff(parse_depth_diff(diffs[21])).outcome is SyncOutcome.GAP
    assert sync.state is SyncState.BUFFERING
    assert sync.on_diff(parse_depth_diff(diffs[22])).outcome is SyncOutcome.BUFFERED
    # An older snapshot no longer fits the buffered events...
    assert sync.on_snapshot(parse_depth_snapshot(snapshot)).outcome is SyncOutcome.SNAPSHOT_STALE
    # ...one taken after diffs[20] does (built here by the naive rebuild).
    bids, asks, last = naive_rebuild(snapshot, diffs[:21], futures=False)
    fresh = {"lastUpdateId": last, "bids": [[str(p), str(q)] for p, q in bids.items()],
             "asks": [[str(p), str(q)] for p, q in asks.items()]}
    result = sync.on_snapshot(parse_depth_snapshot(fresh))
    assert result.outcome is SyncOutcome.SYNCED
    assert result.previous is not None
    assert result.previous.last_update_id == diffs[19]["u"]
    bids, asks, last = naive_rebuild(snapshot, diffs[:23], futures=False)
    assert sync.book.bids.as_dict() == bids
    assert sync.book.asks.as_dict() == asks


def test_duplicates_and_old_events_are_ignored_not_gaps() -> None:
    snapshot, diffs = _spot_pair()
    sync = BookSync("BTCUSDT", DepthRule.SPOT)
    sync.on_diff(parse_depth_diff(diffs[0]))
    sync.on_snapshot(parse_depth_snapshot(snapshot))
    for d in diffs[1:10]:
        sync.on_diff(parse_depth_diff(d))
    assert sync.on_diff(parse_depth_diff(diffs[9])).outcome is SyncOutcome.IGNORED
    assert sync.on_diff(parse_depth_diff(diffs[3])).outcome is SyncOutcome.IGNORED
    assert sync.on_diff(parse_depth_diff(diffs[10])).outcome is SyncOutcome.APPLIED


def test_snapshot_before_any_event_waits_for_the_bridging_event() -> None:
    snapshot, diffs = _spot_pair()
    sync = BookSync("BTCUSDT", DepthRule.SPOT)
    assert sync.on_snapshot(parse_depth_snapshot(snapshot)).outcome is SyncOutcome.PENDING
    outcomes = [sync.on_diff(parse_depth_diff(d)).outcome for d in diffs[:8]]
    assert outcomes.count(SyncOutcome.SYNCED) == 1
    assert outcomes.index(SyncOutcome.SYNCED) > 0  # earlier events were ignored (u <= L)


def test_futures_pu_break_is_a_gap_and_duplicate_is_ignored() -> None:
    snapshot = rest_snapshots(USDM[1])[0]["msg"]
    diffs = [d for _, _, d in stream_events(USDM[0]) if d.get("e") == "depthUpdate"][:60]
    sync = BookSync("BTCUSDT", DepthRule.FUTURES)
    for d in diffs[:12]:
        sync.on_diff(parse_depth_diff(d))
    assert sync.on_snapshot(parse_depth_snapshot(snapshot)).outcome is SyncOutcome.SYNCED
    index = next(i for i, d in enumerate(diffs) if d["u"] == sync.book.last_update_id)
    nxt = diffs[index + 1]
    assert sync.on_diff(parse_depth_diff(diffs[index])).outcome is SyncOutcome.IGNORED
    assert sync.on_diff(parse_depth_diff(nxt)).outcome is SyncOutcome.APPLIED
    assert sync.on_diff(parse_depth_diff(diffs[index + 3])).outcome is SyncOutcome.GAP


def test_nautilus_snapshot_and_update_do_not_chain() -> None:
    """MANIFEST: the nautilus excerpts are 10 minutes apart; the rule must refuse them."""
    import csv

    def rows(name: str) -> list[dict[str, str]]:
        with book_file(name).open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    snap_rows = rows("binance_usdm_BTCUSDT_depth-snap_nautilus.csv")
    upd_rows = rows("binance_usdm_BTCUSDT_depth-update_nautilus.csv")
    snapshot = {"lastUpdateId": int(snap_rows[0]["last_update_id"]),
                "bids": [[r["price"], r["qty"]] for r in snap_rows if r["side"] == "b"],
                "asks": [[r["price"], r["qty"]] for r in snap_rows if r["side"] == "a"]}
    u = upd_rows[0]
    update = {"e": "depthUpdate", "E": int(u["timestamp"]), "s": "BTCUSDT",
              "U": int(u["first_update_id"]), "u": int(u["last_update_id"]), "pu": int(u["pu"]),
              "b": [[r["price"], r["qty"]] for r in upd_rows if r["side"] == "b"],
              "a": [[r["price"], r["qty"]] for r in upd_rows if r["side"] == "a"]}
    sync = BookSync("BTCUSDT", DepthRule.FUTURES)
    assert sync.on_diff(parse_depth_diff(update)).outcome is SyncOutcome.BUFFERED
    for _ in range(3):
        result = sync.on_snapshot(parse_depth_snapshot(snapshot))
        assert result.outcome is SyncOutcome.SNAPSHOT_STALE
    assert sync.state is SyncState.BUFFERING
    # Snapshot first, then the update: the first event does not straddle lastUpdateId.
    other = BookSync("BTCUSDT", DepthRule.FUTURES)
    assert other.on_snapshot(parse_depth_snapshot(snapshot)).outcome is SyncOutcome.PENDING
    assert other.on_diff(parse_depth_diff(update)).outcome is SyncOutcome.SNAPSHOT_STALE
