"""The replay clock: recorded frames in recv order, paced by their recorded spacing.

`speed` 1.0 replays in real time, 10.0 ten times faster, None as fast as the clients read
(delivery blocks on a full client queue, so a slow reader slows the replay rather than
losing frames). Silences longer than `max_gap_s` (between two recordings loaded together)
are skipped. The player also keeps the exchange's side of every book: recorded snapshots
and diffs go through the same `BookSync` a client uses, so `/depth` can answer at any
moment of the replay with the book Binance would have had, not only at the instants a
snapshot happened to be recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Union

from argosy.venues.binance.book_sync import BookSync
from argosy.venues.binance.markets import BinanceMarket, spec
from argosy.venues.binance.payloads import MalformedMessage, parse_depth_diff, parse_depth_snapshot
from argosy.venues.replay._loop import LoopShift
from argosy.venues.replay.recordings import Frame, Recording, Snapshot

__all__ = ["BookKey", "Player"]

BookKey = tuple[BinanceMarket, str]
Deliver = Callable[[Frame, str], Awaitable[None]]
_Event = Union[Frame, Snapshot]  # noqa: UP007  # a runtime alias


class Player:
    def __init__(
        self,
        recording: Recording,
        *,
        speed: float | None = 1.0,
        loop: bool = False,
        max_gap_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recording = recording
        self.speed = speed if speed and speed > 0 else None
        self.loop = loop
        self.max_gap_ns = int(max_gap_s * 1e9)
        self._monotonic = monotonic
        events: list[_Event] = [*recording.frames, *recording.snapshots]
        events.sort(key=lambda e: e.recv_ns)  # stable: a snapshot follows same-time frames
        self.events = events
        self.shift = LoopShift.of(recording.frames, recording.snapshots) if loop else LoopShift()
        self.now_ns = events[0].recv_ns if events else time.time_ns()
        self.position = 0
        self.passes = 0
        self.books: dict[BookKey, BookSync] = {}
        self.latest_snapshot: dict[BookKey, Snapshot] = {}
        self.last_depth_ms: dict[BookKey, tuple[int, int]] = {}
        self._ready: dict[BookKey, asyncio.Event] = {}
        self.started = asyncio.Event()
        self.finished = asyncio.Event()

    def ready(self, key: BookKey) -> asyncio.Event:
        """Set once a recorded snapshot of `key` has been reached."""
        return self._ready.setdefault(key, asyncio.Event())

    def start(self) -> None:
        self.started.set()

    async def run(self, deliver: Deliver) -> None:
        await self.started.wait()
        while True:
            await self._pass(deliver)
            if not self.loop or not self.events:
                break
            self.passes += 1
            for sync in self.books.values():
                sync.reset()
        self.finished.set()

    async def _pass(self, deliver: Deliver) -> None:
        k = self.passes
        wall0, virtual, previous = self._monotonic(), 0, None
        for index, event in enumerate(self.events):
            if previous is not None:
                virtual += min(max(0, event.recv_ns - previous), self.max_gap_ns)
            previous = event.recv_ns
            if self.speed is not None:
                delay = wall0 + virtual / 1e9 / self.speed - self._monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif index % 512 == 0:
                await asyncio.sleep(0)
            self.position = index
            self.now_ns = event.recv_ns + k * self.shift.time_ms * 1_000_000
            if isinstance(event, Snapshot):
                self._snapshot(event, k)
                continue
            payload = self.shift.frame(event, k)
            if event.event == "depthUpdate":
                self._diff(event, k)
            await deliver(event, payload)

    def _snapshot(self, snap: Snapshot, k: int) -> None:
        key = (snap.market, snap.symbol)
        msg = self.shift.data(snap.msg, snap.symbol, k) if k else snap.msg
        shifted = Snapshot(snap.recv_ns, snap.market, snap.symbol, msg)
        self.latest_snapshot[key] = shifted
        sync = self.books.setdefault(key, BookSync(snap.symbol, spec(snap.market).depth_rule))
        with contextlib.suppress(MalformedMessage):  # still served verbatim, from latest
            sync.on_snapshot(parse_depth_snapshot(msg))
        self.ready(key).set()

    def _diff(self, frame: Frame, k: int) -> None:
        key = (frame.market, frame.symbol)
        data = self.shift.data(frame.data, frame.symbol, k) if k else frame.data
        sync = self.books.setdefault(key, BookSync(frame.symbol, spec(frame.market).depth_rule))
        try:
            sync.on_diff(parse_depth_diff(data))
        except MalformedMessage:
            return
        event_ms = data.get("E", 0)
        self.last_depth_ms[key] = (event_ms, data.get("T", event_ms))
