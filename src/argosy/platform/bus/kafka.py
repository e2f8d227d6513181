"""The bus over Kafka, for sites that already run a Kafka cluster.

URL: `kafka://host:port[,host2:port][?idempotence=false]`. Topics map onto Kafka topics by
their first two tokens (see _kafka_topics.py). The producer waits for all in-sync replicas
and is idempotent, so its own retries never duplicate a record; Kafka has no dedupe by
message id, so a republished outbox row arrives twice and the inbox drops it.
`idempotence=false` is for brokers without InitProducerId support (tansu 0.6 in memory mode).
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from argosy.kernel.errors import Unavailable
from argosy.platform.bus._groups import durable_name
from argosy.platform.bus._kafka_consumer import FanOutReader, GroupMember
from argosy.platform.bus._kafka_topics import (
    DEFAULT_PREFIX,
    bootstrap_servers,
    encode_headers,
    kafka_topic,
    route_for,
)
from argosy.platform.bus.base import Bus, BusMetrics, Handler, Subscription

__all__ = ["KafkaBus"]

log = structlog.get_logger("argosy.bus.kafka")

_TOPIC_EXISTS = 36
_WILD_REFRESH_MS = 5_000


class KafkaBus(Bus):
    """See the module docstring. Options beyond the URL, defaults fit a real cluster:

    - `topic_prefix`, `partitions`, `replication_factor`: how Kafka topics are named and
      created (once per process, through the admin client).
    - `session_timeout_ms`: group liveness; also how long a (re)join takes on some brokers.
    - `fetch_max_wait_ms`: Kafka answers a fetch as soon as data arrives, tansu only when
      this runs out, so tests and benchmarks on tansu lower it.
    """

    kind = "kafka"

    def __init__(
        self,
        url: str = "kafka://127.0.0.1:9092",
        *,
        source: str = "",
        metrics: BusMetrics | None = None,
        topic_prefix: str = DEFAULT_PREFIX,
        partitions: int = 3,
        replication_factor: int = 1,
        session_timeout_ms: int = 10_000,
        fetch_max_wait_ms: int = 500,
        request_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(source=source, metrics=metrics)
        self._bootstrap = bootstrap_servers(url)
        query = parse_qs(urlsplit(url).query)
        self._idempotence = query.get("idempotence", ["true"])[-1].lower() not in ("0", "false")
        self._prefix, self._partitions = topic_prefix, partitions
        self._replication = replication_factor
        self._session_timeout_ms, self._fetch_max_wait_ms = session_timeout_ms, fetch_max_wait_ms
        self._request_timeout_s = request_timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._known_topics: set[str] = set()
        self._subs: set[Subscription] = set()

    async def connect(self) -> None:
        client_id = self.source or "argosy"
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, client_id=client_id, acks="all",
            enable_idempotence=self._idempotence,
            request_timeout_ms=int(self._request_timeout_s * 1000),
        )
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, client_id=f"{client_id}-admin",
            request_timeout_ms=int(self._request_timeout_s * 1000),
        )
        try:
            await producer.start()
            await admin.start()
        except KafkaError as exc:
            await producer.stop()
            await admin.close()
            hint = " (no idempotent producers there? add ?idempotence=false)" * self._idempotence
            raise Unavailable(
                f"Kafka at {self._bootstrap} unusable: {exc!r}{hint}", dependency="bus"
            ) from exc
        self._producer, self._admin = producer, admin

    async def close(self) -> None:
        subs, self._subs = list(self._subs), set()
        await asyncio.gather(*(s.stop() for s in subs))
        producer, admin, self._producer, self._admin = self._producer, self._admin, None, None
        if producer is not None:
            await producer.stop()
        if admin is not None:
            await admin.close()

    async def check(self) -> None:
        if self._admin is None:
            raise Unavailable("Kafka bus is not connected", dependency="bus")
        try:
            await asyncio.wait_for(self._admin.describe_cluster(), self._request_timeout_s)
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable("Kafka did not answer", dependency="bus") from exc

    async def _ensure_topic(self, name: str) -> None:
        """Create the Kafka topic once per process; an existing one is fine."""
        if name in self._known_topics:
            return
        if self._admin is None:
            raise Unavailable("Kafka bus is not connected", dependency="bus")
        try:
            response = await self._admin.create_topics(
                [NewTopic(name, self._partitions, self._replication)]
            )
        except KafkaError as exc:
            raise Unavailable(f"Kafka could not create {name}", dependency="bus") from exc
        for topic, code, *_ in response.topic_errors:
            if code not in (0, _TOPIC_EXISTS):
                raise Unavailable(f"Kafka refused topic {topic}: error {code}", dependency="bus")
        self._known_topics.add(name)

    async def _publish(self, topic: str, data: bytes, headers: dict[str, str], msg_id: str) -> None:
        if self._producer is None:
            raise Unavailable("Kafka bus is not connected", dependency="bus")
        name = kafka_topic(topic, self._prefix)
        await self._ensure_topic(name)
        try:
            await self._producer.send_and_wait(
                name, data, key=topic.encode(), headers=encode_headers(topic, headers)
            )
        except KafkaError as exc:
            raise Unavailable(f"Kafka did not store {topic}", dependency="bus") from exc

    def _consumer(self, group_id: str | None, *, wild: bool = False) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            client_id=self.source or "argosy",
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a new group reads what is retained, like JetStream
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=max(100, self._session_timeout_ms // 10),
            rebalance_timeout_ms=self._session_timeout_ms,
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            # a group on a wild head finds new Kafka topics on a metadata refresh
            metadata_max_age_ms=_WILD_REFRESH_MS if wild else 30_000,
        )

    async def _subscribe(
        self, pattern: str, handler: Handler, group: str | None, max_deliver: int
    ) -> Subscription:
        if self._admin is None:
            raise Unavailable("Kafka bus is not connected", dependency="bus")
        route = route_for(pattern, self._prefix)
        for name in route.topics:
            await self._ensure_topic(name)
        sub: FanOutReader | GroupMember
        if group is None:
            sub = FanOutReader(self._consumer(None), route, pattern, handler, self._admin)
        else:
            group_id = f"{self._prefix}.{durable_name(group, pattern)}"
            consumer = self._consumer(group_id, wild=route.regex is not None)
            sub = GroupMember(consumer, route, pattern, handler, group, max_deliver)
        try:
            await sub.start()
        except KafkaError as exc:
            await sub.stop()
            raise Unavailable(f"Kafka subscription to {pattern} failed", dependency="bus") from exc
        self._subs.add(sub)
        return _Tracked(self, sub)

    def _forget(self, sub: Subscription) -> None:
        self._subs.discard(sub)


class _Tracked(Subscription):
    def __init__(self, bus: KafkaBus, inner: Subscription) -> None:
        self._bus, self._inner = bus, inner

    async def stop(self) -> None:
        self._bus._forget(self._inner)
        await self._inner.stop()
