"""The bus interface every transport implements, and the behaviour they all share.

Semantics (the same on every transport):
- `publish` is fire-and-forget once the transport accepted the message; durability comes
  from the outbox (platform/db/outbox.py), which retries until `publish` returns.
- `subscribe(pattern, handler)` without a group is a live fan-out: every subscriber of
  every process sees each message published while it is subscribed (cache invalidation,
  config pushes). Nothing is replayed.
- `subscribe(pattern, handler, group="name")` is a durable consumer group: each message
  goes to one member of the group, at least once. A handler that raises gets the message
  again (up to `max_deliver` times, with backoff); handlers must be idempotent
  (platform/db/inbox.py gives them a processed-message table).
- A new group starts from the oldest message the transport retains (JetStream deliver-all,
  Kafka earliest); the in-memory bus retains nothing.
- A group handler must finish within the transport's ack wait (30 s on NATS) or the
  message goes to another member.
- Dedupe by message id is the transport's: JetStream drops a republished id within its
  duplicate window for stored copies; a live fan-out subscriber may still see both, and
  Kafka has no broker-side dedupe. Idempotent handlers make this harmless.
- Headers carry the correlation id; handlers run with it bound in the log context.
"""

from __future__ import annotations

import abc
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
import structlog

from argosy.contracts import headers as h
from argosy.contracts.topics import validate_pattern, validate_topic
from argosy.platform.lifecycle import Connectable

__all__ = ["Bus", "BusMetrics", "Envelope", "Handler", "Subscription"]

log = structlog.get_logger("argosy.bus")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One delivered message. `delivery` counts attempts, starting at 1."""

    topic: str
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    msg_id: str = ""
    delivery: int = 1

    def json(self) -> Any:
        return orjson.loads(self.data)

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get(h.CORRELATION_ID)


Handler = Callable[[Envelope], Awaitable[None]]


class BusMetrics(Protocol):
    """What a bus reports; platform/metrics.py implements it with Prometheus."""

    def published(self, transport: str, topic: str) -> None: ...

    def handled(self, transport: str, topic: str, seconds: float, ok: bool) -> None: ...


class Subscription(abc.ABC):
    """A live subscription; `stop` ends delivery to this handler."""

    @abc.abstractmethod
    async def stop(self) -> None: ...


class Bus(Connectable):
    """Publish/subscribe with durable consumer groups; see the module docstring."""

    #: short name for logs, metrics and /readyz ("memory", "nats", "kafka")
    kind: str = "bus"

    def __init__(self, *, source: str = "", metrics: BusMetrics | None = None) -> None:
        self.source = source  # service name stamped on published messages
        self.metrics = metrics

    @abc.abstractmethod
    async def _publish(self, topic: str, data: bytes, headers: dict[str, str], msg_id: str) -> None:
        ...

    @abc.abstractmethod
    async def _subscribe(
        self, pattern: str, handler: Handler, group: str | None, max_deliver: int
    ) -> Subscription: ...

    async def publish(
        self,
        topic: str,
        data: bytes,
        *,
        headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> str:
        """Publish raw bytes; returns the message id (the transport's dedupe key)."""
        validate_topic(topic)
        hdrs = self.outgoing_headers(headers)
        mid = msg_id or hdrs.get(h.MESSAGE_ID) or uuid.uuid4().hex
        hdrs[h.MESSAGE_ID] = mid
        await self._publish(topic, data, hdrs, mid)
        if self.metrics is not None:
            self.metrics.published(self.kind, topic)
        return mid

    async def publish_json(
        self, topic: str, payload: Any, *, headers: Mapping[str, str] | None = None,
        msg_id: str | None = None,
    ) -> str:
        return await self.publish(topic, orjson.dumps(payload), headers=headers, msg_id=msg_id)

    async def subscribe(
        self, pattern: str, handler: Handler, *, group: str | None = None, max_deliver: int = 5
    ) -> Subscription:
        validate_pattern(pattern)
        if group is not None and not group.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"invalid consumer group {group!r}: letters, digits, - and _ only")
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        return await self._subscribe(pattern, self._wrap(handler, group), group, max_deliver)

    def outgoing_headers(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """Headers for a new message: the caller's, plus correlation id and source."""
        hdrs = {k.lower(): v for k, v in (extra or {}).items()}
        ctx = structlog.contextvars.get_contextvars()
        if h.CORRELATION_ID not in hdrs:
            cid = ctx.get("correlation_id") or ctx.get("request_id")
            if cid:
                hdrs[h.CORRELATION_ID] = str(cid)
        if self.source and h.SOURCE_SERVICE not in hdrs:
            hdrs[h.SOURCE_SERVICE] = self.source
        return hdrs

    def _wrap(self, handler: Handler, group: str | None) -> Handler:
        """Bind the message's correlation id to the log context while the handler runs."""

        async def run(env: Envelope) -> None:
            bound = {"topic": env.topic, "msg_id": env.msg_id}
            if env.correlation_id:
                bound["correlation_id"] = env.correlation_id
            started = time.perf_counter()
            ok = False
            with structlog.contextvars.bound_contextvars(**bound):
                try:
                    await handler(env)
                    ok = True
                except Exception:
                    log.warning(
                        "bus.handler_failed", group=group, delivery=env.delivery, exc_info=True
                    )
                    raise
                finally:
                    if self.metrics is not None:
                        self.metrics.handled(
                            self.kind, env.topic, time.perf_counter() - started, ok
                        )

        return run
