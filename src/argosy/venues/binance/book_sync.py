"""Binance's "How to manage a local order book correctly", as a pure state machine.

No I/O: the caller feeds `on_diff` with every depth event and `on_snapshot` with each REST
snapshot it fetched, and acts on the outcome (fetch a snapshot, publish deltas, raise an
alarm). Keeping the rule pure lets the replay server run the very same code to derive
snapshots, and lets tests drive it with recorded events.

Spot (web-socket-streams, current wording):
 1. buffer events; note U of the first one;
 2. get a snapshot; if its lastUpdateId < that first U, get another one;
 3. drop buffered events with u <= lastUpdateId; the book's update id is lastUpdateId;
 4. for each event: u <= book id -> ignore; U > book id + 1 -> gap, restart; else apply
    and set book id = u. (Equivalent to "U == previous u + 1" for Binance's events, which
    never overlap, and also right for the first event, whose [U;u] straddles the snapshot.)
USD-M futures:
 1. buffer events; 2. get a snapshot; 3. drop events with u < lastUpdateId;
 4. the first processed event must have U <= lastUpdateId <= u;
 5. every later event's pu must equal the previous event's u, otherwise restart.
One deliberate addition on futures: an event with u <= the book's id (a duplicate, or one
already covered by the snapshot) is ignored rather than treated as a break, as on spot,
so a repeated frame does not cost a snapshot.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from argosy.venues.binance.markets import DepthRule
from argosy.venues.binance.payloads import DepthDiff, DepthSnapshot
from argosy.venues.book import OrderBook

__all__ = ["BookSync", "SyncOutcome", "SyncResult", "SyncState"]


class SyncState(StrEnum):
    BUFFERING = "buffering"  # no usable book: collecting events, a snapshot is needed
    PENDING = "pending"  # snapshot loaded, waiting for the event that bridges it
    SYNCED = "synced"


class SyncOutcome(StrEnum):
    BUFFERED = "buffered"
    APPLIED = "applied"
    IGNORED = "ignored"  # older than the book, or a duplicate
    GAP = "gap"  # continuity broke: the book is void, fetch a snapshot
    PENDING = "pending"  # snapshot accepted, bridging event not seen yet
    SYNCED = "synced"  # book (re)built: snapshot + bridging event(s)
    SNAPSHOT_STALE = "snapshot_stale"  # snapshot older than the events: fetch another


@dataclass(slots=True)
class SyncResult:
    outcome: SyncOutcome
    applied: list[DepthDiff] = field(default_factory=list)
    # on SYNCED: the book consumers last saw, so they can be sent the difference
    previous: OrderBook | None = None


class BookSync:
    """One symbol's book and the rule that keeps it right."""

    __slots__ = ("_buffer", "_first_seen_u", "_published", "book", "rule", "state")

    def __init__(self, symbol: str, rule: DepthRule, max_buffer: int = 100_000) -> None:
        self.rule = rule
        self.book = OrderBook(symbol)
        self.state = SyncState.BUFFERING
        self._buffer: deque[DepthDiff] = deque(maxlen=max_buffer)
        self._first_seen_u: int | None = None  # U of the first event since buffering began
        self._published = OrderBook(symbol)  # what the last SYNCED handed to consumers

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def reset(self) -> None:
        """Forget the book (after a reconnect the caller may prefer a clean start)."""
        self.state = SyncState.BUFFERING
        self._buffer.clear()
        self._first_seen_u = None

    # --- events -------------------------------------------------------------------------

    def on_diff(self, diff: DepthDiff) -> SyncResult:
        if self.state is SyncState.BUFFERING:
            if self._first_seen_u is None:
                self._first_seen_u = diff.first_id
            self._buffer.append(diff)
            return SyncResult(SyncOutcome.BUFFERED)
        if self.state is SyncState.PENDING:
            return self._bridge(diff)
        verdict = self._check(diff)
        if verdict is SyncOutcome.APPLIED:
            self.book.apply(diff.bids, diff.asks, diff.final_id)
            return SyncResult(SyncOutcome.APPLIED, [diff])
        if verdict is SyncOutcome.IGNORED:
            return SyncResult(SyncOutcome.IGNORED)
        self._restart(diff)
        return SyncResult(SyncOutcome.GAP)

    def on_snapshot(self, snapshot: DepthSnapshot) -> SyncResult:
        """Accept a REST snapshot; only meaningful while buffering (else ignored)."""
        if self.state is not SyncState.BUFFERING:
            return SyncResult(SyncOutcome.IGNORED)
        last_id = snapshot.last_update_id
        if self._first_seen_u is not None and last_id < self._first_seen_u - (
            1 if self.rule is DepthRule.SPOT else 0
        ):
            return SyncResult(SyncOutcome.SNAPSHOT_STALE)
        candidate = OrderBook(self.book.symbol)
        candidate.load(snapshot.bids, snapshot.asks, last_id)
        pending = list(self._buffer)
        bridged = False
        applied: list[DepthDiff] = []
        for index, diff in enumerate(pending):
            if not bridged:
                verdict = self._bridge_verdict(diff, last_id)
            else:
                verdict = self._continuity(diff, candidate.last_update_id)
            if verdict is SyncOutcome.IGNORED:
                continue
            if verdict is not SyncOutcome.APPLIED:
                # Keep what might chain with a later snapshot; drop what this one covered.
                self._buffer = deque(pending[index:], maxlen=self._buffer.maxlen)
                self._first_seen_u = pending[index].first_id
                stale = not bridged
                return SyncResult(SyncOutcome.SNAPSHOT_STALE if stale else SyncOutcome.GAP)
            candidate.apply(diff.bids, diff.asks, diff.final_id)
            applied.append(diff)
            bridged = True
        self._buffer.clear()
        self.book = candidate
        if not bridged:
            self.state = SyncState.PENDING
            return SyncResult(SyncOutcome.PENDING)
        return self._synced(applied)

    # --- rules --------------------------------------------------------------------------

    def _bridge(self, diff: DepthDiff) -> SyncResult:
        verdict = self._bridge_verdict(diff, self.book.last_update_id)
        if verdict is SyncOutcome.IGNORED:
            return SyncResult(SyncOutcome.IGNORED)
        if verdict is SyncOutcome.APPLIED:
            self.book.apply(diff.bids, diff.asks, diff.final_id)
            return self._synced([diff])
        self._restart(diff)
        return SyncResult(SyncOutcome.SNAPSHOT_STALE)

    def _bridge_verdict(self, diff: DepthDiff, last_id: int) -> SyncOutcome:
        """The first event after a snapshot must straddle the snapshot's id."""
        if self.rule is DepthRule.SPOT:
            if diff.final_id <= last_id:
                return SyncOutcome.IGNORED
            return SyncOutcome.APPLIED if diff.first_id <= last_id + 1 else SyncOutcome.GAP
        if diff.final_id < last_id:
            return SyncOutcome.IGNORED
        return SyncOutcome.APPLIED if diff.first_id <= last_id else SyncOutcome.GAP

    def _check(self, diff: DepthDiff) -> SyncOutcome:
        return self._continuity(diff, self.book.last_update_id)

    def _continuity(self, diff: DepthDiff, book_id: int) -> SyncOutcome:
        if diff.final_id <= book_id:
            return SyncOutcome.IGNORED
        if self.rule is DepthRule.SPOT:
            return SyncOutcome.GAP if diff.first_id > book_id + 1 else SyncOutcome.APPLIED
        return SyncOutcome.APPLIED if diff.prev_final_id == book_id else SyncOutcome.GAP

    def _restart(self, diff: DepthDiff) -> None:
        self.state = SyncState.BUFFERING
        self._buffer.clear()
        self._buffer.append(diff)
        self._first_seen_u = diff.first_id

    def _synced(self, applied: list[DepthDiff]) -> SyncResult:
        self.state = SyncState.SYNCED
        previous = self._published
        self._published = self.book  # consumers now hold this book, updated by deltas
        return SyncResult(SyncOutcome.SYNCED, applied, previous)
