"""What the config service publishes: `config.changed.<service>` after every change."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from argosy.contracts.topics import config_changed
from argosy.contracts.v1.config import ConfigChanged
from argosy.platform.db.outbox import Outbox

__all__ = ["ConfigEvents"]


class ConfigEvents:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def changed(self, session: AsyncSession, event: ConfigChanged) -> None:
        await self._outbox.add(
            session, config_changed(event.service), event.model_dump(mode="json")
        )
