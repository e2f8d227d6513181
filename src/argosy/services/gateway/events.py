"""What the gateway consumes from the bus: revocations from the users service.

Both are live fan-out subscriptions (no consumer group): every gateway instance must hear
every revocation. A missed event heals on its own: grants are re-fetched within their
cache time, and revoked sessions are also kept in the shared cache.

Payloads (the users service's contract; until it is published in contracts/, both
spellings are read): `users.session.revoked` → {"sid" | "session_id", "exp"?: unix s};
`users.api_key.revoked` → {"key_id"}.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from argosy.contracts.topics import USERS_EVENTS
from argosy.platform.bus.base import Bus, Envelope
from argosy.services.gateway.apikeys import ApiKeys
from argosy.services.gateway.authn import BearerAuth

__all__ = ["GatewayEvents"]

log = structlog.get_logger("argosy.gateway.events")


class GatewayEvents:
    def __init__(
        self,
        bus: Bus,
        bearer: BearerAuth,
        apikeys: ApiKeys,
        on_session_revoked: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._bus, self._bearer, self._apikeys = bus, bearer, apikeys
        self._on_session_revoked = on_session_revoked
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        subs = [
            await self._bus.subscribe(USERS_EVENTS["session_revoked"], self._session_revoked),
            await self._bus.subscribe(USERS_EVENTS["api_key_revoked"], self._api_key_revoked),
        ]
        self.subscribed.set()
        try:
            await asyncio.Event().wait()
        finally:
            for sub in subs:
                await sub.stop()

    async def _session_revoked(self, env: Envelope) -> None:
        body: Any = env.json()
        sid = body.get("sid") or body.get("session_id") if isinstance(body, dict) else None
        if not isinstance(sid, str) or not sid:
            log.warning("event.malformed", topic=env.topic)
            return
        exp = body.get("exp")
        ttl = exp - time.time() + 60 if isinstance(exp, int | float) else None
        await self._bearer.revocations.revoke(sid, ttl)
        if self._on_session_revoked is not None:
            await self._on_session_revoked(sid)
        log.info("session.revoked", sid=sid)

    async def _api_key_revoked(self, env: Envelope) -> None:
        body: Any = env.json()
        key_id = body.get("key_id") if isinstance(body, dict) else None
        if not isinstance(key_id, str) or not key_id:
            log.warning("event.malformed", topic=env.topic)
            return
        self._apikeys.revoke(key_id)
