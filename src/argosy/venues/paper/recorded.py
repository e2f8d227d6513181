"""Recorded Binance streams as the event sequence a paper venue consumes.

A recording of the combined stream (`{"recv_ts_ns", "msg"}` per line, the hftbacktest files
in ../shared/data/ws) holds a REST depth snapshot, depth diffs and trades. This turns it
into what live paper trading receives from the market-data bus: one book snapshot, then
`BookDelta`s (diffs at or before the snapshot's update id dropped, as Binance documents)
and `TradeTick`s in receive order, with the receive time as the event time. The backtester
and the matching benchmark replay through `replay`, the same dispatch live trading uses.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import orjson

from argosy.kernel.errors import Invalid
from argosy.kernel.instruments import InstrumentId
from argosy.kernel.messages import BookDelta, TradeTick
from argosy.kernel.money import Price, Quantity
from argosy.venues.binance.normalize import book_deltas, trade_tick
from argosy.venues.binance.payloads import parse_depth_diff, parse_depth_snapshot
from argosy.venues.paper.venue import PaperVenue

__all__ = ["BookSnapshot", "RecordedEvent", "recorded_binance_events", "replay"]


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    instrument_id: InstrumentId
    bids: list[tuple[Price, Quantity]]
    asks: list[tuple[Price, Quantity]]
    ts_ns: int
    last_update_id: int


RecordedEvent: TypeAlias = BookSnapshot | BookDelta | TradeTick


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def recorded_binance_events(path: Path | str, instrument_id: InstrumentId,
                            limit: int | None = None) -> list[RecordedEvent]:
    """The snapshot and every later depth diff and trade of one symbol, in file order."""
    events: list[RecordedEvent] = []
    snapshot_id: int | None = None
    for row in _rows(Path(path)):
        msg = row["msg"]
        recv = int(row["recv_ts_ns"])
        if "lastUpdateId" in msg and snapshot_id is None:
            snap = parse_depth_snapshot(msg)
            snapshot_id = snap.last_update_id
            events.append(BookSnapshot(
                instrument_id, [(Price(p), Quantity(q)) for p, q in snap.bids],
                [(Price(p), Quantity(q)) for p, q in snap.asks], recv, snapshot_id))
            continue
        if snapshot_id is None or "stream" not in msg:
            continue
        data = msg["data"]
        kind = data.get("e")
        if kind == "depthUpdate":
            diff = parse_depth_diff(data)
            if diff.final_id > snapshot_id:
                events.extend(book_deltas(diff, instrument_id, recv))
        elif kind == "trade":
            events.append(trade_tick(data, instrument_id, recv))
        if limit is not None and len(events) >= limit:
            break
    if snapshot_id is None:
        raise Invalid(f"{path} holds no depth snapshot to start the book from", field="path")
    return events


def replay(venue: PaperVenue, events: Iterable[RecordedEvent]) -> None:
    """Push events into the venue; the dispatch order is the list order."""
    on_delta, on_trade = venue.on_book_delta, venue.on_trade
    for event in events:
        kind = type(event)
        if kind is BookDelta:
            on_delta(event)  # type: ignore[arg-type]
        elif kind is TradeTick:
            on_trade(event)  # type: ignore[arg-type]
        else:
            assert isinstance(event, BookSnapshot)
            venue.on_book_snapshot(event.instrument_id, event.bids, event.asks, event.ts_ns)
