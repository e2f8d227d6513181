"""Fan-out: one bus subscription per channel, shared by every client of that channel.

Why: 10,000 clients watching BTC trades must cost the bus one subscription, and each
message one JSON encoding, not 10,000 of each. The subscription is taken when the first
client subscribes and released when the last one leaves. The hub also runs the heartbeat
for all connections from one task (a timer per client would be 10,000 timers), and drops
clients whose token expired or whose session was revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
import structlog

from argosy.platform.bus.base import Bus, Envelope, Handler, Subscription
from argosy.services.gateway.domain.channels import CLOSE_AUTH, CLOSE_HEARTBEAT, Channel
from argosy.services.gateway.metrics import GatewayMetrics
from argosy.services.gateway.streams.connection import Connection

__all__ = ["Hub"]

log = structlog.get_logger("argosy.gateway.ws")


@dataclass(eq=False)
class _Fanout:
    channel: Channel
    clients: set[Connection] = field(default_factory=set)
    subscription: Subscription | None = None
    opening: asyncio.Task[None] | None = None


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark a failed opening as seen: its waiters re-raise it, if any are left."""
    if not task.cancelled():
        task.exception()


class Hub:
    def __init__(
        self,
        bus: Bus,
        metrics: GatewayMetrics,
        *,
        ping_interval_s: float,
        ping_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus, self._metrics = bus, metrics
        self.ping_interval_s, self.ping_timeout_s = ping_interval_s, ping_timeout_s
        self._clock = clock
        self.connections: set[Connection] = set()
        self._fanouts: dict[str, _Fanout] = {}

    def register(self, conn: Connection) -> None:
        self.connections.add(conn)
        self._metrics.ws_connections.set(len(self.connections))

    async def unregister(self, conn: Connection) -> None:
        self.connections.discard(conn)
        self._metrics.ws_connections.set(len(self.connections))
        for key in list(conn.channels):
            await self.unsubscribe(conn, key)

    def channels(self) -> dict[str, int]:
        """Channel key → number of clients (for tests and /internal views)."""
        return {key: len(f.clients) for key, f in self._fanouts.items()}

    async def subscribe(self, conn: Connection, channel: Channel) -> None:
        fanout = self._fanouts.get(channel.key)
        if fanout is None:
            fanout = _Fanout(channel)
            # its own task: a client that disconnects while the bus subscription is being
            # made must not cancel it for the other clients waiting on the same channel
            fanout.opening = asyncio.create_task(self._open(fanout))
            fanout.opening.add_done_callback(_retrieve)
            self._fanouts[channel.key] = fanout
            self._metrics.ws_channels.set(len(self._fanouts))
        assert fanout.opening is not None
        try:
            await asyncio.shield(fanout.opening)
        except asyncio.CancelledError:
            if not fanout.clients:  # nobody else came for it meanwhile
                fanout.opening.add_done_callback(
                    lambda _: asyncio.ensure_future(self._release_if_idle(fanout)))
            raise
        fanout.clients.add(conn)
        conn.channels[channel.key] = channel

    async def _open(self, fanout: _Fanout) -> None:
        try:
            fanout.subscription = await self._bus.subscribe(
                fanout.channel.topic, self._deliverer(fanout)
            )
        except BaseException:
            if self._fanouts.get(fanout.channel.key) is fanout:
                del self._fanouts[fanout.channel.key]
                self._metrics.ws_channels.set(len(self._fanouts))
            raise

    async def unsubscribe(self, conn: Connection, key: str) -> bool:
        conn.channels.pop(key, None)
        fanout = self._fanouts.get(key)
        if fanout is None or conn not in fanout.clients:
            return False
        fanout.clients.discard(conn)
        await self._release_if_idle(fanout)
        return True

    async def _release_if_idle(self, fanout: _Fanout) -> None:
        """The last client left: give the bus subscription back."""
        if fanout.clients or self._fanouts.get(fanout.channel.key) is not fanout:
            return
        del self._fanouts[fanout.channel.key]
        self._metrics.ws_channels.set(len(self._fanouts))
        if fanout.subscription is not None:
            with contextlib.suppress(Exception):
                await fanout.subscription.stop()

    def _deliverer(self, fanout: _Fanout) -> Handler:
        channel = fanout.channel
        head: dict[str, object] = {"op": "data", "channel": channel.name}
        if channel.account is not None:
            head["account"] = channel.account
        frames = self._metrics.ws_frames
        dropped = self._metrics.ws_dropped.labels("slow_consumer")

        async def deliver(env: Envelope) -> None:
            try:
                data = orjson.loads(env.data)
            except orjson.JSONDecodeError:
                log.warning("ws.undecodable_message", topic=env.topic)
                return
            frame = orjson.dumps({**head, "data": data}).decode()
            sent = 0
            for conn in list(fanout.clients):
                outcome = conn.offer(frame)
                if outcome > 0:
                    sent += 1
                elif outcome < 0:
                    dropped.inc()
                    log.info("ws.slow_consumer_dropped", ip=conn.ip, channel=channel.name)
            frames.inc(sent)

        return deliver

    async def drop_session(self, sid: str) -> None:
        for conn in list(self.connections):
            if conn.claims is not None and conn.claims.sid == sid:
                self.drop(conn, CLOSE_AUTH, "session revoked", "revoked")

    def drop(self, conn: Connection, code: int, reason: str, label: str) -> None:
        if conn.closing is None:
            conn.kill(code, reason)
            self._metrics.ws_dropped.labels(label).inc()

    def beat(self) -> None:
        """One heartbeat round: ping who is due, drop who did not answer or expired."""
        now, wall = self._clock(), time.time()
        ping = orjson.dumps({"op": "ping", "ts": int(wall * 1000)}).decode()
        for conn in list(self.connections):
            if conn.closing is not None:
                continue
            if conn.claims is not None and wall >= conn.claims.exp:
                self.drop(conn, CLOSE_AUTH, "token expired: send a fresh one with op auth",
                          "expired")
            elif conn.last_ping is not None and now - conn.last_ping > self.ping_timeout_s:
                self.drop(conn, CLOSE_HEARTBEAT, "no pong within the heartbeat timeout",
                          "heartbeat")
            elif conn.last_ping is None and now >= conn.next_ping:
                conn.last_ping = now
                if conn.offer(ping) < 0:
                    self._metrics.ws_dropped.labels("slow_consumer").inc()

    async def run_heartbeat(self) -> None:
        period = max(0.05, min(1.0, self.ping_interval_s / 4, self.ping_timeout_s / 4))
        while True:
            await asyncio.sleep(period)
            self.beat()

    def pong(self, conn: Connection) -> None:
        conn.last_ping = None
        conn.next_ping = self._clock() + self.ping_interval_s
