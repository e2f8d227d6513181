"""Delivery on Kafka: a consumer-group member per group subscription, a group-less reader
per fan-out subscription.

Kafka has no per-message negative ack, so a failed message is retried in place (with the
same backoff as the other transports) before the partition moves on; its offset is
committed only once it was handled or dead-lettered. A member that dies mid-retry hands
the message to the next owner of the partition, whose count starts again at 1.

Fan-out readers assign partitions by hand instead of joining a throwaway group: no
rebalance pause, nothing left behind on the broker, and positions survive the discovery
of new topics (aiokafka's pattern subscription resets them whenever its topic set changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from argosy.contracts.topics import topic_matches
from argosy.platform.bus._groups import redelivery_delay
from argosy.platform.bus._kafka_topics import KafkaRoute, decode_headers
from argosy.platform.bus.base import Envelope, Handler, Subscription

__all__ = ["FanOutReader", "GroupMember"]

log = structlog.get_logger("argosy.bus.kafka")

_POLL_MS = 500
_DISCOVER_S = 2.0


class _StoppingError(Exception):
    """Raised inside a retry wait when the member is stopping: leave the offset as it is."""


class _Member(Subscription):
    """The poll loop both kinds share; `stop` lets the message in hand finish."""

    def __init__(
        self, consumer: AIOKafkaConsumer, route: KafkaRoute, pattern: str, handler: Handler
    ) -> None:
        self._consumer, self._route, self._pattern = consumer, route, pattern
        self._handler = handler
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._busy = False

    def _envelope(self, record: Any, delivery: int) -> Envelope | None:
        topic, hdrs, msg_id = decode_headers(record.headers or (), record.key)
        if not topic_matches(self._pattern, topic):
            return None
        return Envelope(topic=topic, data=record.value or b"", headers=hdrs, msg_id=msg_id,
                        delivery=delivery)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                batch = await self._poll()
            except KafkaError:
                log.warning("bus.poll_failed", pattern=self._pattern, exc_info=True)
                await asyncio.sleep(_POLL_MS / 1000)
                continue
            self._busy = True
            try:
                await self._handle(batch)
            finally:
                self._busy = False

    async def _poll(self) -> dict[TopicPartition, list[Any]]:
        result: dict[TopicPartition, list[Any]] = await self._consumer.getmany(
            timeout_ms=_POLL_MS
        )
        return result

    async def _handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        raise NotImplementedError

    async def stop(self, grace_s: float = 10.0) -> None:
        self._stopping.set()
        task = self._task
        if task is not None:
            if not self._busy:
                task.cancel()
            await asyncio.wait({task}, timeout=grace_s)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(KafkaError):
            await self._consumer.stop()


class GroupMember(_Member):
    """One member of a Kafka consumer group: at least once, commit after handling."""

    def __init__(
        self, consumer: AIOKafkaConsumer, route: KafkaRoute, pattern: str, handler: Handler,
        group: str, max_deliver: int,
    ) -> None:
        super().__init__(consumer, route, pattern, handler)
        self._group, self._max_deliver = group, max_deliver

    async def start(self) -> None:
        if self._route.regex is not None:
            self._consumer.subscribe(pattern=self._route.anchored)
        else:
            self._consumer.subscribe(list(self._route.topics))
        await self._consumer.start()
        self._task = asyncio.create_task(self._loop(), name=f"bus:kafka:{self._group}")

    async def _handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        done: dict[TopicPartition, int] = {}
        try:
            for tp, records in batch.items():
                for record in records:
                    if self._stopping.is_set():
                        return
                    await self._deliver(record)
                    done[tp] = record.offset + 1
        except _StoppingError:
            return
        finally:
            if done:
                await self._commit(done)

    async def _deliver(self, record: Any) -> None:
        first = self._envelope(record, 1)
        if first is None:
            return  # another topic sharing this Kafka topic
        env = first
        for attempt in range(1, self._max_deliver + 1):
            env = replace(first, delivery=attempt)
            try:
                await self._handler(env)
                return
            except Exception:  # base.Bus logged it
                if attempt < self._max_deliver:
                    await self._pause(redelivery_delay(attempt))
        log.error(
            "bus.dead_letter", topic=env.topic, msg_id=env.msg_id, group=self._group,
            attempts=self._max_deliver,
        )

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
            raise _StoppingError

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except KafkaError:
            # a rebalance took the partition: its new owner sees these again (at least once)
            log.warning("bus.commit_failed", group=self._group, exc_info=True)


class FanOutReader(_Member):
    """Live fan-out: reads every matching partition from the moment it subscribed."""

    def __init__(
        self, consumer: AIOKafkaConsumer, route: KafkaRoute, pattern: str, handler: Handler,
        admin: AIOKafkaAdminClient,
    ) -> None:
        super().__init__(consumer, route, pattern, handler)
        self._admin = admin
        self._discovered_at = 0.0

    async def start(self) -> None:
        await self._consumer.start()
        await self._reassign(initial=True)
        self._discovered_at = time.monotonic()
        self._task = asyncio.create_task(self._loop(), name=f"bus:kafka:{self._pattern}")

    async def _poll(self) -> dict[TopicPartition, list[Any]]:
        """Discover new topics between polls (never racing one); wait while none matches."""
        if self._route.regex is not None and time.monotonic() - self._discovered_at > _DISCOVER_S:
            self._discovered_at = time.monotonic()
            await self._reassign(initial=False)  # new topics of a wild head: read from 0
        if not self._consumer.assignment():  # getmany would wait for one, ignoring its timeout
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_POLL_MS / 1000):
                    await self._stopping.wait()
            return {}
        return await super()._poll()

    async def _reassign(self, *, initial: bool) -> None:
        wanted: set[TopicPartition] = set()
        for meta in await self._admin.describe_topics():
            if meta["error_code"] == 0 and self._route.matches(meta["topic"]):
                wanted.update(TopicPartition(meta["topic"], p["partition"])
                              for p in meta["partitions"])
        current = set(self._consumer.assignment())
        if wanted <= current:
            return
        kept = {tp: await self._consumer.position(tp) for tp in current}
        added = sorted(wanted - current)
        starts = await (self._consumer.end_offsets(added) if initial
                        else self._consumer.beginning_offsets(added))
        self._consumer.assign(sorted(current | wanted))
        for tp, offset in {**kept, **starts}.items():
            self._consumer.seek(tp, offset)

    async def _handle(self, batch: dict[TopicPartition, list[Any]]) -> None:
        for records in batch.values():
            for record in records:
                env = self._envelope(record, 1)
                if env is None:
                    continue
                with contextlib.suppress(Exception):  # at most once; base.Bus logged it
                    await self._handler(env)
