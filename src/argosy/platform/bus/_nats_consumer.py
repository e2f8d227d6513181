"""Delivery on NATS: core subscriptions for fan-out, JetStream pull consumers for groups.

The pull loop sends its own pull requests instead of using nats-py's `fetch`: `fetch(n)`
holds the first message until the batch fills or the request expires, which would add up
to a whole poll interval of latency to a quiet topic. Here each message is handled as soon
as it arrives and a new request is sent when the previous one is used up or expired.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass

import nats.errors
import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import api

from argosy.platform.bus._groups import redelivery_delay
from argosy.platform.bus._nats_subjects import StreamTarget, SubjectMap, incoming_headers
from argosy.platform.bus.base import Envelope, Handler, Subscription

__all__ = ["CoreSubscription", "PullConsumer", "PullSettings", "consumer_config"]

log = structlog.get_logger("argosy.bus.nats")

_STOP = object()
_STATUS_CONFLICT_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True)
class PullSettings:
    batch: int = 64  # messages asked for per pull request
    expires_s: float = 5.0  # how long a pull request waits on the server
    ack_wait_s: float = 30.0


def consumer_config(
    durable: str, target: StreamTarget, max_deliver: int, settings: PullSettings
) -> api.ConsumerConfig:
    """A durable pull consumer; a new group starts at the oldest retained message."""
    return api.ConsumerConfig(
        name=durable,
        durable_name=durable,
        deliver_policy=api.DeliverPolicy.ALL,
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=settings.ack_wait_s,
        max_deliver=max_deliver,
        filter_subject=target.filter_subject,
        max_ack_pending=max(1000, settings.batch * 4),
    )


def _envelope(subjects: SubjectMap, msg: Msg, delivery: int) -> Envelope:
    hdrs, msg_id = incoming_headers(msg.headers)
    return Envelope(
        topic=subjects.topic(msg.subject), data=msg.data, headers=hdrs, msg_id=msg_id,
        delivery=delivery,
    )


class CoreSubscription(Subscription):
    """Live fan-out over core NATS: at most once, sees JetStream-published messages too."""

    def __init__(self, nc: Client, subjects: SubjectMap, handler: Handler) -> None:
        self._nc, self._map, self._handler = nc, subjects, handler
        self._subs: list[NatsSubscription] = []

    async def start(self, targets: list[StreamTarget]) -> None:
        for target in targets:
            for subject in target.subjects:
                self._subs.append(await self._nc.subscribe(subject, cb=self._on_msg))
        # subscribe() returns only once the server has our interest. nats-py's flush()
        # writes its PING straight to the socket, past SUBs still in its pending buffer,
        # so push that buffer out first (private API, nats-py 2.16); without it ~5% of
        # first messages were missed under load.
        await self._nc._flush_pending(force_flush=True)
        await self._nc.flush()

    async def _on_msg(self, msg: Msg) -> None:
        with contextlib.suppress(Exception):  # at most once; base.Bus already logged it
            await self._handler(_envelope(self._map, msg, 1))

    async def stop(self) -> None:
        subs, self._subs = self._subs, []
        for sub in subs:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()


class PullConsumer:
    """One group member's loop over one stream's durable consumer."""

    def __init__(
        self, nc: Client, subjects: SubjectMap, target: StreamTarget, durable: str,
        handler: Handler, max_deliver: int, settings: PullSettings, group: str,
    ) -> None:
        self._nc, self._map, self._target = nc, subjects, target
        self._durable, self._handler, self._max_deliver = durable, handler, max_deliver
        self._settings, self._group = settings, group
        self._queue: asyncio.Queue[Msg | object] = asyncio.Queue()
        self._inbox = nc.new_inbox()
        self._sub: NatsSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._on_msg)
        self._task = asyncio.create_task(self._run(), name=f"bus:{self._durable}")

    async def _on_msg(self, msg: Msg) -> None:
        self._queue.put_nowait(msg)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Finish the message in hand, give back the ones queued behind it, then leave."""
        self._stopping = True
        self._queue.put_nowait(_STOP)
        if self._task is not None:
            await asyncio.wait({self._task}, timeout=grace_s)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._sub.unsubscribe()
            self._sub = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        settings = self._settings
        request = orjson.dumps(
            {"batch": settings.batch, "expires": int(settings.expires_s * 1_000_000_000)}
        )
        next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{self._target.stream}.{self._durable}"
        while not self._stopping:
            try:
                await self._nc.publish(next_subject, request, reply=self._inbox)
            except nats.errors.Error:
                log.warning("bus.pull_request_failed", consumer=self._durable, exc_info=True)
                await asyncio.sleep(_STATUS_CONFLICT_PAUSE_S)
                continue
            expired = _Deadline()
            timer = loop.call_later(settings.expires_s + 1.0, self._queue.put_nowait, expired)
            try:
                if await self._take(settings.batch, expired) == "stop":
                    break
            finally:
                timer.cancel()
        await self._give_back()

    async def _take(self, wanted: int, expired: _Deadline) -> str:
        """Handle messages of one pull request until it is used up, expired or we stop."""
        while wanted > 0:
            item = await self._queue.get()
            if item is _STOP:
                return "stop"
            if isinstance(item, _Deadline):
                if item is expired:
                    return "expired"
                continue
            assert isinstance(item, Msg)
            status = (item.headers or {}).get(api.Header.STATUS)
            if status is not None:
                if status == "100":  # idle heartbeat or flow control
                    continue
                if status not in ("404", "408"):  # 409: consumer gone, too many waiting
                    log.warning(
                        "bus.pull_status", consumer=self._durable, status=status,
                        description=(item.headers or {}).get(api.Header.DESCRIPTION),
                    )
                    await asyncio.sleep(_STATUS_CONFLICT_PAUSE_S)
                return "done"
            wanted -= 1
            if self._stopping:
                await _settle(item.nak())
            else:
                await self._deliver(item)
        return "done"

    async def _deliver(self, msg: Msg) -> None:
        delivery = msg.metadata.num_delivered
        env = _envelope(self._map, msg, delivery)
        try:
            await self._handler(env)
        except asyncio.CancelledError:
            raise
        except Exception:  # base.Bus logged it
            if delivery >= self._max_deliver:
                await _settle(msg.term())
                log.error(
                    "bus.dead_letter", topic=env.topic, msg_id=env.msg_id, group=self._group,
                    attempts=delivery,
                )
            else:
                await _settle(msg.nak(delay=redelivery_delay(delivery)))
            return
        await _settle(msg.ack())

    async def _give_back(self) -> None:
        """Nak what arrived but was not handled, so another member gets it now."""
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, Msg) and not (item.headers or {}).get(api.Header.STATUS):
                await _settle(item.nak())


class _Deadline:
    """Marks the local deadline of one pull request in the queue."""


async def _settle(ack: Awaitable[None]) -> None:
    """Send an ack/nak/term; a lost one only means the message comes back after ack_wait."""
    try:
        await ack
    except (nats.errors.Error, OSError):
        log.warning("bus.ack_failed", exc_info=True)
