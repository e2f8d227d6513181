"""The bus over NATS JetStream: the default networked transport.

Every topic root is one stream (contracts/topics.STREAMS), so published messages are stored
with that root's retention and deduplicated on their message id: an outbox relay that
republishes after a crash does not deliver twice. Groups are durable pull consumers shared
by every member that uses the same group and pattern, in any process. Fan-out is a plain
core subscription: live only, at most once, no replay.
"""

from __future__ import annotations

import asyncio
import contextlib

import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext, api

from argosy.contracts.topics import STREAMS, StreamSpec
from argosy.kernel.errors import Unavailable
from argosy.platform.bus._groups import durable_name
from argosy.platform.bus._nats_consumer import (
    CoreSubscription,
    PullConsumer,
    PullSettings,
    consumer_config,
)
from argosy.platform.bus._nats_subjects import MSG_ID_HEADER, SubjectMap
from argosy.platform.bus.base import Bus, BusMetrics, Handler, Subscription

__all__ = ["NatsBus"]

log = structlog.get_logger("argosy.bus.nats")

_STREAM_NAME_IN_USE = 10058  # JetStream: a stream of that name exists with other settings


class _GroupSubscription(Subscription):
    def __init__(self, bus: NatsBus, members: list[PullConsumer]) -> None:
        self._bus, self._members = bus, members

    async def stop(self) -> None:
        self._bus._forget(self)
        await asyncio.gather(*(m.stop() for m in self._members))


class _FanOutSubscription(Subscription):
    def __init__(self, bus: NatsBus, core: CoreSubscription) -> None:
        self._bus, self._core = bus, core

    async def stop(self) -> None:
        self._bus._forget(self)
        await self._core.stop()


class NatsBus(Bus):
    """See the module docstring. The defaults are production's; the options are for sharing
    a server and for tests:

    - `namespace`: prefixes subjects and suffixes stream names (SubjectMap), so a test run
      or a second deployment never touches the production streams of the same server.
    - `ack_wait_s`: how long a group member may hold a message before the server offers it
      to another member; a handler slower than this is handled twice.
    - `duplicate_window_s`: how long a message id is remembered for dedupe.
    """

    kind = "nats"

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        source: str = "",
        metrics: BusMetrics | None = None,
        namespace: str = "",
        ack_wait_s: float = 30.0,
        duplicate_window_s: float = 120.0,
        connect_timeout_s: float = 5.0,
        request_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(source=source, metrics=metrics)
        self._servers = [s.strip() for s in url.split(",") if s.strip()]
        self._subjects = SubjectMap(namespace)
        self._pull = PullSettings(ack_wait_s=ack_wait_s)
        self._duplicate_window_s = duplicate_window_s
        self._connect_timeout_s = connect_timeout_s
        self._request_timeout_s = request_timeout_s
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: set[Subscription] = set()
        self._closing = False

    @property
    def subjects(self) -> SubjectMap:
        return self._subjects

    async def connect(self) -> None:
        nc = Client()
        try:
            await asyncio.wait_for(
                nc.connect(
                    servers=self._servers,
                    name=self.source or "argosy",
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=max(1, round(self._connect_timeout_s)),
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                ),
                self._connect_timeout_s,
            )
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise Unavailable(f"NATS at {self._servers} unreachable", dependency="bus") from exc
        self._nc, self._closing = nc, False
        self._js = nc.jetstream(timeout=self._request_timeout_s)
        for spec in STREAMS:
            await self._ensure_stream(spec)

    async def _ensure_stream(self, spec: StreamSpec) -> None:
        """Create the stream, or bring an existing one to the declared settings."""
        assert self._js is not None
        config = api.StreamConfig(
            name=self._subjects.stream_name(spec),
            subjects=self._subjects.stream_subjects(spec),
            storage=api.StorageType.FILE,
            max_age=float(spec.max_age_s),
            duplicate_window=min(self._duplicate_window_s, float(spec.max_age_s)),
        )
        try:
            await self._js.add_stream(config)
        except nats.js.errors.BadRequestError as exc:
            if exc.err_code != _STREAM_NAME_IN_USE:
                raise
            try:
                await self._js.update_stream(config)
            except nats.js.errors.APIError:
                # e.g. storage cannot change in place; the stream still works as it is
                log.warning("bus.stream_update_failed", stream=config.name, exc_info=True)

    async def close(self) -> None:
        self._closing = True
        subs, self._subs = list(self._subs), set()
        await asyncio.gather(*(s.stop() for s in subs))
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.drain()
            except (nats.errors.Error, TimeoutError):
                await nc.close()

    async def check(self) -> None:
        if self._nc is None or self._js is None or not self._nc.is_connected:
            raise Unavailable("NATS is not connected", dependency="bus")
        try:
            await self._js.account_info()
        except (nats.errors.Error, TimeoutError) as exc:
            raise Unavailable("NATS JetStream did not answer", dependency="bus") from exc

    async def _publish(self, topic: str, data: bytes, headers: dict[str, str], msg_id: str) -> None:
        if self._js is None:
            raise Unavailable("NATS bus is not connected", dependency="bus")
        hdrs = {**headers, MSG_ID_HEADER: msg_id}
        try:
            ack = await self._js.publish(self._subjects.subject(topic), data, headers=hdrs)
        except nats.errors.MaxPayloadError:
            raise
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            raise Unavailable(f"NATS did not store {topic}", dependency="bus") from exc
        if ack.duplicate:
            log.debug("bus.duplicate_dropped", topic=topic, msg_id=msg_id)

    async def _subscribe(
        self, pattern: str, handler: Handler, group: str | None, max_deliver: int
    ) -> Subscription:
        if self._nc is None or self._js is None:
            raise Unavailable("NATS bus is not connected", dependency="bus")
        targets = self._subjects.targets(pattern)
        sub: Subscription
        if group is None:
            core = CoreSubscription(self._nc, self._subjects, handler)
            await core.start(targets)
            sub = _FanOutSubscription(self, core)
        else:
            durable = durable_name(group, pattern)
            members = []
            for target in targets:
                config = consumer_config(durable, target, max_deliver, self._pull)
                await self._js.add_consumer(target.stream, config)
                member = PullConsumer(
                    self._nc, self._subjects, target, durable, handler, max_deliver,
                    self._pull, group,
                )
                await member.start()
                members.append(member)
            sub = _GroupSubscription(self, members)
        self._subs.add(sub)
        return sub

    def _forget(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    async def _on_error(self, exc: Exception) -> None:
        log.warning("bus.nats_error", error=str(exc))

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("bus.nats_disconnected")

    async def _on_reconnected(self) -> None:
        log.info("bus.nats_reconnected")

    async def delete_namespace(self) -> None:
        """Delete this namespace's streams (and so their consumers): tests clean up with it."""
        if not self._subjects.namespace:
            raise RuntimeError("refusing to delete the production streams")
        if self._js is None:
            raise Unavailable("NATS bus is not connected", dependency="bus")
        for spec in STREAMS:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await self._js.delete_stream(self._subjects.stream_name(spec))
