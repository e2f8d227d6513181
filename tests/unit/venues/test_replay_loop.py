"""Looping a recording keeps ids increasing, prices untouched and the book seam visible."""

from __future__ import annotations

from argosy.venues.binance.book_sync import BookSync, SyncOutcome
from argosy.venues.binance.markets import DepthRule
from argosy.venues.binance.payloads import parse_depth_diff, parse_depth_snapshot
from argosy.venues.replay._loop import LoopShift
from argosy.venues.replay.recordings import load_recording
from tests.support.binance_data import SHARED_DATA


def test_second_pass_continues_ids_and_breaks_the_book_chain() -> None:
    recording = load_recording([SHARED_DATA / "ws/binance_spot_BTCUSDT_20240808.jsonl.gz"]
                               ).truncated(60)
    shift = LoopShift.of(recording.frames, recording.snapshots)
    trades = [f for f in recording.frames if f.event == "trade"]
    first, last = trades[0].data, trades[-1].data
    again = shift.data(first, "BTCUSDT", 1)
    assert again["t"] == last["t"] + 1  # trade ids simply go on
    assert again["p"] == first["p"]
    assert again["q"] == first["q"]
    assert (again["E"] - first["E"]) % 86_400_000 == 0
    assert again["E"] > last["E"]
    depth = [f.data for f in recording.frames if f.event == "depthUpdate"]
    sync = BookSync("BTCUSDT", DepthRule.SPOT)
    sync.on_snapshot(parse_depth_snapshot(recording.snapshots[0].msg))
    for d in depth:
        sync.on_diff(parse_depth_diff(d))
    seam = sync.on_diff(parse_depth_diff(shift.data(depth[0], "BTCUSDT", 1)))
    assert seam.outcome is SyncOutcome.GAP  # a client resyncs instead of corrupting its book
    snapshot = shift.data(recording.snapshots[0].msg, "BTCUSDT", 1)
    assert snapshot["lastUpdateId"] > depth[-1]["u"]
