"""In-process bus for a single process and for tests.

Same semantics as the networked transports (see base.py) except durability: nothing
survives the process, and a group that subscribes late sees only later messages.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field, replace

import structlog

from argosy.contracts.topics import topic_matches
from argosy.kernel.errors import Unavailable
from argosy.platform.bus._groups import redelivery_delay
from argosy.platform.bus.base import Bus, BusMetrics, Envelope, Handler, Subscription

__all__ = ["MemoryBus"]

log = structlog.get_logger("argosy.bus.memory")


@dataclass(eq=False)
class _Member:
    pattern: str
    handler: Handler
    group: str | None
    max_deliver: int
    queue: asyncio.Queue[Envelope] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    stopped: bool = False


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, member: _Member) -> None:
        self._bus, self._member = bus, member

    async def stop(self) -> None:
        await self._bus._remove(self._member)


class MemoryBus(Bus):
    kind = "memory"

    def __init__(self, *, source: str = "", metrics: BusMetrics | None = None) -> None:
        super().__init__(source=source, metrics=metrics)
        self._members: list[_Member] = []
        self._rr: dict[tuple[str, str], itertools.count[int]] = {}
        self._open = False

    async def connect(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False
        for member in list(self._members):
            await self._remove(member)

    async def check(self) -> None:
        if not self._open:
            raise Unavailable("in-memory bus is closed", dependency="bus")

    async def _publish(self, topic: str, data: bytes, headers: dict[str, str], msg_id: str) -> None:
        if not self._open:
            raise Unavailable("in-memory bus is closed", dependency="bus")
        env = Envelope(topic=topic, data=data, headers=dict(headers), msg_id=msg_id)
        groups: dict[tuple[str, str], list[_Member]] = {}
        for member in self._members:
            if not topic_matches(member.pattern, topic):
                continue
            if member.group is None:
                member.queue.put_nowait(env)
            else:
                groups.setdefault((member.group, member.pattern), []).append(member)
        for key, members in groups.items():
            turn = next(self._rr.setdefault(key, itertools.count()))
            members[turn % len(members)].queue.put_nowait(env)

    async def _subscribe(
        self, pattern: str, handler: Handler, group: str | None, max_deliver: int
    ) -> Subscription:
        member = _Member(pattern, handler, group, max_deliver)
        member.task = asyncio.create_task(self._drain(member), name=f"bus:{pattern}")
        self._members.append(member)
        return _MemorySubscription(self, member)

    async def _remove(self, member: _Member) -> None:
        if member in self._members:
            self._members.remove(member)
        member.stopped = True
        task = member.task
        if task is None or task is asyncio.current_task():
            return  # stopped from inside its own handler: the drain loop ends after it
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _drain(self, member: _Member) -> None:
        while not member.stopped:
            env = await member.queue.get()
            await self._deliver(member, env)

    async def _deliver(self, member: _Member, env: Envelope) -> None:
        for attempt in range(1, member.max_deliver + 1):
            try:
                await member.handler(replace(env, delivery=attempt))
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # the wrapper in base.py logged it
                if member.group is None:
                    return  # live fan-out: at most once, like core NATS
                if attempt < member.max_deliver:
                    await asyncio.sleep(redelivery_delay(attempt))
        log.error(
            "bus.dead_letter", topic=env.topic, msg_id=env.msg_id, group=member.group,
            attempts=member.max_deliver,
        )
