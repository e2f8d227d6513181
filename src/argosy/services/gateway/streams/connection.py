"""One WebSocket client: its bounded queue, its subscriptions, its heartbeat state.

Why a queue per client and never an `await` in the fan-out: the bus handler hands each
frame to hundreds of clients; if it waited for a slow one, every client of the channel
would wait too. Instead each client has a bounded queue drained by its own task; when the
queue is full the client is disconnected with a reason (it could not keep up), and the
others never notice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from starlette.websockets import WebSocket

from argosy.contracts.v1.identity import AccessClaims
from argosy.platform.auth.internal import Principal
from argosy.services.gateway.domain.channels import CLOSE_SLOW_CONSUMER, Channel
from argosy.services.gateway.domain.limits import Limit, TokenBucket

__all__ = ["Connection"]

_CLOSE_WAIT_S = 5.0


class Connection:
    __slots__ = (
        "_wake", "bucket", "channels", "claims", "closing", "done", "ip", "last_ping",
        "max_queue", "next_ping", "principal", "pump_task", "queue", "ws",
    )

    def __init__(self, ws: WebSocket, *, ip: str, max_queue: int, rate: Limit, now: float,
                 ping_interval_s: float) -> None:
        self.ws, self.ip, self.max_queue = ws, ip, max_queue
        self.queue: deque[str] = deque()
        self._wake = asyncio.Event()
        self.done = asyncio.Event()
        self.closing: tuple[int, str] | None = None
        self.claims: AccessClaims | None = None
        self.principal: Principal | None = None
        self.channels: dict[str, Channel] = {}
        self.bucket = TokenBucket(rate, now)
        self.next_ping = now + ping_interval_s
        self.last_ping: float | None = None  # when the unanswered ping was sent
        self.pump_task: asyncio.Task[None] | None = None

    def offer(self, frame: str) -> int:
        """Queue a frame without waiting: 1 queued, 0 ignored (closing), -1 the queue was
        full and the client is dropped now."""
        if self.closing is not None:
            return 0
        if len(self.queue) >= self.max_queue:
            self.kill(CLOSE_SLOW_CONSUMER,
                      f"slow consumer: {self.max_queue} frames waiting, dropped")
            return -1
        self.queue.append(frame)
        self._wake.set()
        return 1

    def kill(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason[:120])  # a close reason fits in 123 bytes
            self.queue.clear()
            self._wake.set()
            self.done.set()

    async def pump(self) -> None:
        send = self.ws.send_text
        queue, wake = self.queue, self._wake
        try:
            while self.closing is None:
                if not queue:
                    wake.clear()
                    await wake.wait()
                    continue
                await send(queue.popleft())
        except Exception:  # the client went away mid-send
            self.done.set()

    async def close(self) -> None:
        """Send the close frame with the reason, if the client is still reading."""
        code, reason = self.closing or (1000, "")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code, reason=reason), _CLOSE_WAIT_S)

    def describe(self) -> dict[str, Any]:
        return {"ip": self.ip, "queued": len(self.queue), "channels": sorted(self.channels)}
