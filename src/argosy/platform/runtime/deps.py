"""Dependencies of a service (database, bus, cache...) that may be down at start-up.

A dependency that cannot be reached does not stop the process: it is reported in one log
line and on /readyz, and reconnected in the background with backoff. Work that needs it
waits for `ready(name)`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from argosy.platform.metrics import Metrics

__all__ = ["Dependencies", "Dependency"]

log = structlog.get_logger("argosy.deps")

_CHECK_TIMEOUT_S = 3.0


@dataclass
class Dependency:
    name: str
    connect: Callable[[], Awaitable[None]]
    check: Callable[[], Awaitable[None]]
    close: Callable[[], Awaitable[None]]
    detail: str = ""  # e.g. the URL without credentials, for /readyz
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    error: str | None = None


class Dependencies:
    def __init__(
        self, service: str, metrics: Metrics, *, retry_s: float = 0.5, max_retry_s: float = 15.0
    ) -> None:
        self._service, self._metrics = service, metrics
        self._retry_s, self._max_retry_s = retry_s, max_retry_s
        self._deps: dict[str, Dependency] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, dep: Dependency) -> None:
        self._deps[dep.name] = dep

    def __contains__(self, name: str) -> bool:
        return name in self._deps

    async def start(self) -> None:
        """Connect everything once; whatever fails keeps trying in the background."""
        for dep in self._deps.values():
            if not await self._try(dep):
                self._tasks.append(asyncio.create_task(self._retry(dep), name=f"dep:{dep.name}"))

    async def ready(self, *names: str) -> None:
        await asyncio.gather(*(self._deps[n].connected.wait() for n in names if n in self._deps))

    async def _try(self, dep: Dependency) -> bool:
        try:
            await dep.connect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            if dep.error != message:
                log.warning("dependency.unavailable", dependency=dep.name, error=message,
                            target=dep.detail)
            dep.error = message
            self._metrics.dependency_up.labels(self._service, dep.name).set(0)
            return False
        dep.error = None
        dep.connected.set()
        self._metrics.dependency_up.labels(self._service, dep.name).set(1)
        log.info("dependency.connected", dependency=dep.name, target=dep.detail)
        return True

    async def _retry(self, dep: Dependency) -> None:
        delay = self._retry_s
        while True:
            await asyncio.sleep(delay)
            if await self._try(dep):
                return
            delay = min(delay * 2, self._max_retry_s)

    async def readiness(self) -> dict[str, dict[str, Any]]:
        """Check every dependency now (concurrently, bounded by a timeout)."""
        results = await asyncio.gather(*(self._check(d) for d in self._deps.values()))
        return dict(results)

    async def _check(self, dep: Dependency) -> tuple[str, dict[str, Any]]:
        if not dep.connected.is_set():
            return dep.name, {"ok": False, "error": dep.error or "connecting"}
        try:
            await asyncio.wait_for(dep.check(), _CHECK_TIMEOUT_S)
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            if dep.error != message:
                log.warning("dependency.down", dependency=dep.name, error=message)
            dep.error = message
            self._metrics.dependency_up.labels(self._service, dep.name).set(0)
            return dep.name, {"ok": False, "error": message}
        if dep.error is not None:
            log.info("dependency.recovered", dependency=dep.name)
        dep.error = None
        self._metrics.dependency_up.labels(self._service, dep.name).set(1)
        return dep.name, {"ok": True}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for dep in reversed(list(self._deps.values())):
            if dep.connected.is_set():
                try:
                    await dep.close()
                except Exception as exc:  # closing must not hide the other closes
                    log.warning("dependency.close_failed", dependency=dep.name, error=str(exc))
