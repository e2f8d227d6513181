"""Binance market data WebSocket client: many streams over as few sockets as allowed.

Streams are packed onto connections up to the market's per-connection cap (1024 spot, 200
USD-M); more streams open more connections, and a request beyond `max_connections` fails
with a clear `Invalid` instead of a silent disconnect. Control messages (SUBSCRIBE,
UNSUBSCRIBE, LIST_SUBSCRIPTIONS) are paced per connection below Binance's incoming-frame
limit (5/s spot, 10/s USD-M), one frame per second being left for the pongs the websockets
library sends back to the server's pings.

Each connection is replaced before Binance's 24 h cut-off: a new socket with the same
streams is opened, and the old one is closed only once the new one delivers data (make
before break, so no data is missed; the overlap's duplicates are removed downstream by id).
Malformed frames are counted by kind, logged once per kind and skipped; an exception in the
consumer's callback is treated the same way, so nothing a frame contains can stop the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import structlog

from argosy.kernel.clock import Clock, LiveClock
from argosy.kernel.errors import Invalid
from argosy.venues.alarms import AlarmHandler, FeedAlarm
from argosy.venues.binance._connection import StreamConnection
from argosy.venues.binance.markets import BinanceMarket, spec
from argosy.venues.binance.payloads import MalformedMessage
from argosy.venues.binance.streams import parse_stream

__all__ = ["BinanceStreamClient", "DataHandler", "StreamSettings", "StreamStats"]

log = structlog.get_logger("argosy.venues.binance.ws")
DataHandler = Callable[[str, dict[str, Any], int], None]


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """Connection behaviour; the defaults follow Binance's documented limits.

    `stale_after_s` watches each connection as a whole (any data frame resets it): a single
    quiet stream, say the trades of an illiquid pair, must not trigger reconnects, so put
    such streams on a connection with a busy one or raise the threshold (0 disables).
    """

    stale_after_s: float = 30.0  # no data frame on a connection this long -> reconnect
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    rotation_margin_s: float = 1800.0  # replace connections this long before 24 h
    max_connection_age_s: float | None = None  # default: lifetime - margin
    max_streams_per_connection: int | None = None  # default: the market's cap
    control_per_second: int | None = None  # default: the market's limit - 1 (pongs)
    max_url_streams: int = 100  # the rest go in SUBSCRIBE messages
    max_streams_per_request: int = 200
    max_connections: int = 32
    request_timeout_s: float = 10.0
    open_timeout_s: float = 10.0
    max_message_bytes: int = 1 << 24
    supervise_every_s: float = 1.0


@dataclass(slots=True)
class StreamStats:
    data_frames: int = 0
    control_sent: int = 0
    control_errors: int = 0
    connects: int = 0
    disconnects: int = 0
    stale: int = 0
    rotations: int = 0
    malformed: Counter[str] = field(default_factory=Counter)


class BinanceStreamClient:
    """Subscribe to stream names; frames arrive at `on_data(stream, data, recv_ns)`."""

    def __init__(
        self,
        market: BinanceMarket,
        on_data: DataHandler,
        *,
        base_url: str | None = None,
        settings: StreamSettings | None = None,
        on_alarm: AlarmHandler | None = None,
        on_connect: Callable[[StreamConnection], None] | None = None,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.market = BinanceMarket(market)
        self.spec = spec(self.market)
        self.settings = settings or StreamSettings()
        self.base_url = (base_url or self.spec.ws_url).rstrip("/")
        self.on_data = on_data
        self.on_alarm = on_alarm
        self.on_connect = on_connect
        self.clock: Clock = clock or LiveClock()
        self.monotonic = monotonic
        self.sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311  # jitter, not secrecy
        self.stats = StreamStats()
        s = self.settings
        self.per_connection = s.max_streams_per_connection or self.spec.max_streams_per_connection
        self.control_per_second = s.control_per_second or max(
            1, self.spec.max_incoming_per_second - 1
        )
        self.max_age = s.max_connection_age_s or (
            self.spec.connection_lifetime_s - s.rotation_margin_s
        )
        self._owner: dict[str, StreamConnection] = {}
        self._connections: list[StreamConnection] = []
        self._ids = 0
        self._conn_ids = 0
        self._logged: set[str] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # --- public API ---------------------------------------------------------------------

    @property
    def connections(self) -> list[StreamConnection]:
        return list(self._connections)

    def streams(self) -> list[str]:
        return sorted(self._owner)

    async def subscribe(self, streams: Iterable[str]) -> None:
        """Carry these streams from now on (names are validated before anything is sent)."""
        names = list(dict.fromkeys(streams))
        for name in names:
            parse_stream(name)
        async with self._lock:
            new = [n for n in names if n not in self._owner]
            capacity = self.settings.max_connections * self.per_connection
            if len(self._owner) + len(new) > capacity:
                raise Invalid(
                    f"{len(self._owner) + len(new)} streams exceed {capacity} "
                    f"({self.settings.max_connections} connections x {self.per_connection} "
                    f"streams, Binance {self.market.value} limit)",
                    field="streams",
                )
            plan: dict[StreamConnection, list[str]] = {}
            fresh: list[StreamConnection] = []
            for name in new:
                conn = next(
                    (c for c in self._connections
                     if len(c.desired) + len(plan.get(c, [])) < self.per_connection),
                    None,
                )
                if conn is None:
                    conn = self._new_connection([])
                    fresh.append(conn)
                plan.setdefault(conn, []).append(name)
                self._owner[name] = conn
            for conn in fresh:
                conn.desired.update(plan.pop(conn))
                conn.start()
            self._ensure_supervisor()
        await asyncio.gather(*(conn.add(names) for conn, names in plan.items()))
        # New sockets subscribe as they open; wait for that, but not forever: if the venue
        # is down they keep trying in the background.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.request_timeout_s):
                await asyncio.gather(*(conn.synced.wait() for conn in fresh))

    async def unsubscribe(self, streams: Iterable[str]) -> None:
        async with self._lock:
            plan: dict[StreamConnection, list[str]] = {}
            for name in streams:
                conn = self._owner.pop(name, None)
                if conn is not None:
                    plan.setdefault(conn, []).append(name)
        for conn, names in plan.items():
            if conn.desired.issubset(names):
                self._connections.remove(conn)
                await conn.close()
            else:
                await conn.remove(names)

    async def list_subscriptions(self) -> list[str]:
        """What the server says each connection carries (LIST_SUBSCRIPTIONS), merged."""
        found: list[str] = []
        for conn in self._connections:
            if conn.connected:
                found.extend(await conn.request("LIST_SUBSCRIPTIONS") or [])
        return sorted(found)

    async def wait_live(self) -> None:
        """Until every connection has delivered a data frame in its current session."""
        await asyncio.gather(*(c.live.wait() for c in self._connections))

    async def close(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await asyncio.gather(*(c.close() for c in self._connections))
        self._connections.clear()
        self._owner.clear()

    # --- used by StreamConnection -------------------------------------------------------

    def next_request_id(self) -> int:
        self._ids += 1
        return self._ids

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        s = self.settings
        ceiling = min(s.backoff_max_s, s.backoff_initial_s * 2.0 ** min(attempt, 30))
        return float(ceiling / 2 + self._rng.uniform(0, ceiling / 2))

    def dispatch(self, stream: str, data: dict[str, Any], recv_ns: int) -> None:
        self.stats.data_frames += 1
        try:
            self.on_data(stream, data, recv_ns)
        except MalformedMessage as error:
            self.malformed(error.kind, error.detail)
        except Exception as error:  # a consumer bug must not end the feed
            self.malformed("handler_error", repr(error))

    def malformed(self, kind: str, detail: str) -> None:
        self.stats.malformed[kind] += 1
        if kind not in self._logged:
            self._logged.add(kind)
            log.warning("binance_malformed_frame", kind=kind, detail=detail[:200],
                        market=self.market.value)

    def connection_opened(self, conn: StreamConnection) -> None:
        self.stats.connects += 1
        if self.on_connect is not None:
            self.on_connect(conn)

    def connection_lost(self, conn: StreamConnection, reason: str, opened: bool) -> None:
        """A session ended; only one that had opened is a hole in the data worth an alarm."""
        log.info("binance_ws_disconnected", conn=conn.id, reason=reason, opened=opened)
        if opened:
            self.stats.disconnects += 1
            self._alarm("disconnected", f"connection {conn.id} lost: {reason}", conn=conn.id)

    def stale(self, conn: StreamConnection, silent_s: float) -> None:
        self.stats.stale += 1
        self._alarm(
            "stale_feed",
            f"no data on connection {conn.id} for {silent_s:.1f} s; reconnecting",
            conn=conn.id,
            streams=sorted(conn.desired)[:20],
        )

    # --- internals ----------------------------------------------------------------------

    def _alarm(self, kind: str, message: str, **details: Any) -> None:
        if self.on_alarm is None:
            return
        self.on_alarm(
            FeedAlarm("binance", kind, message, self.clock.now_ns(), self.market.value,
                      details=details)
        )

    def _new_connection(self, streams: list[str]) -> StreamConnection:
        self._conn_ids += 1
        conn = StreamConnection(self, self._conn_ids, streams)
        self._connections.append(conn)
        return conn

    def _ensure_supervisor(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.create_task(self._supervise(), name="binance-ws-rotate")

    async def _supervise(self) -> None:
        while True:
            await self.sleep(self.settings.supervise_every_s)
            for conn in list(self._connections):
                if conn.connected and conn.age() >= self.max_age:
                    await self._rotate(conn)

    async def _rotate(self, old: StreamConnection) -> None:
        """Make before break: the replacement carries data before the old one closes."""
        async with self._lock:
            if old not in self._connections:
                return
            new = self._new_connection(sorted(old.desired))
            new.start()
        try:
            await asyncio.wait_for(new.live.wait(), self.settings.request_timeout_s)
        except TimeoutError:
            log.warning("binance_ws_rotation_slow", old=old.id, new=new.id)
        async with self._lock:
            for name in new.desired:
                if self._owner.get(name) is old:
                    self._owner[name] = new
            if old in self._connections:
                self._connections.remove(old)
        self.stats.rotations += 1
        await old.close()
